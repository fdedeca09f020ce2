// Nx requires the generators outside vitest and without `--conditions=@fieldlink/source`, so a
// `require('@fieldlink/…')` would look for the package's build. Inside the monorepo the
// generators use the sources, as everything else does: this resolves `@fieldlink/<name>[/sub]`
// to the `@fieldlink/source` target of that package's `exports` (docs/architecture.md, Conventions).
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, required by the generators' entries */
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const workspaceRoot = join(__dirname, '..', '..', '..', '..');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const match = /^(@fieldlink\/[^/]+)(\/.+)?$/.exec(request);
  if (match !== null) {
    const dir = join(workspaceRoot, 'node_modules', match[1]);
    const entry = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports?.[`.${match[2] ?? ''}`];
    const source = typeof entry === 'object' && entry !== null ? entry['@fieldlink/source'] : undefined;
    if (typeof source === 'string') return join(dir, source);
  }
  return resolveFilename.call(this, request, ...rest);
};
