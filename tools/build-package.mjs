#!/usr/bin/env node
// Builds one package of the workspace to JavaScript: `node tools/build-package.mjs <project root>`.
// Empties dist, compiles src with the project's tsconfig.lib.json (ESM, declarations, source maps
// with the sources inlined), then copies the files under src that are not TypeScript (the web
// pages' HTML, CSS and browser scripts) to the same place under dist.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const src = join(root, 'src');
const dist = join(root, 'dist');
if (!existsSync(join(root, 'tsconfig.lib.json'))) {
  console.error(`build-package: ${relative(process.cwd(), root) || '.'} has no tsconfig.lib.json`);
  process.exit(2);
}

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.lib.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const assets = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return assets(path);
    return /\.(ts|mts|cts)$/.test(name) ? [] : [path];
  });
for (const file of assets(src)) cpSync(file, join(dist, relative(src, file)));
