import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The packages as a team outside this repository gets them: build, `npm pack` every publishable
 * package, install the tarballs into a fresh project in a temporary directory (no workspace
 * links; third-party dependencies come from the npm cache or registry), and use them there.
 * Each step is printed with the command it runs.
 */
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const consumerFiles = join(workspaceRoot, 'tools', 'workspace-checks', 'consumer');
const rootManifest = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

// The consumer runs without the monorepo's source condition: it must see what a user sees.
const { NODE_OPTIONS: _sourceCondition, ...cleanEnv } = process.env;
const env = { ...cleanEnv, NO_COLOR: '1', NX_DAEMON: 'false', NX_TUI: 'false' };

/** Runs and prints a command and its output (`quiet`: its stderr only, for output read as data). */
function run(cwd: string, command: string, args: readonly string[], quiet = false): SpawnSyncReturns<string> {
  console.log(`\n$ (${cwd === workspaceRoot ? 'workspace' : 'consumer'}) ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = (quiet ? result.stderr : `${result.stdout}${result.stderr}`).trim();
  console.log(out.length > 4000 ? `…${out.slice(-4000)}` : out);
  return result;
}

function ok(result: SpawnSyncReturns<string>): string {
  expect(result.error, String(result.error)).toBeUndefined();
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** The workspace packages that are published: every one that is not private. */
function publishable(): string[] {
  const listed = ok(spawnSync('npm', ['query', '.workspace'], { cwd: workspaceRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  return (JSON.parse(listed) as { name: string; private?: boolean }[])
    .filter((p) => p.private !== true)
    .map((p) => p.name)
    .sort();
}

const consumer = mkdtempSync(join(tmpdir(), 'fieldlink-consumer-'));
afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe('the published packages, installed from their tarballs into a fresh project', () => {
  it('build, pack and install without the workspace', () => {
    // Under nx (npm test) the build ran before, as this target's dependency; run alone, build here.
    if (process.env['NX_TASK_TARGET_PROJECT'] === undefined) ok(run(workspaceRoot, 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']));
    const names = publishable();
    expect(names).toEqual(
      expect.arrayContaining(['@fieldlink/domain', '@fieldlink/ports', '@fieldlink/flows', '@fieldlink/composition', '@fieldlink/contracts', 'fieldlink']),
    );
    const packed = JSON.parse(ok(run(workspaceRoot, 'npm', ['pack', '--json', '--pack-destination', consumer, ...names.flatMap((n) => ['-w', n])], true))) as {
      name: string;
      filename: string;
      files: { path: string }[];
    }[];
    for (const p of packed) {
      console.log(`${p.filename}: ${p.files.length} files`);
      const paths = p.files.map((f) => f.path);
      // Declarations and JavaScript, never the TypeScript sources, tests or the workspace's tsconfig.
      expect(
        paths.filter((f) => /(^src\/|\.test\.|tsconfig|vitest\.config)/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
        p.name,
      ).toEqual([]);
      expect(paths, p.name).toContain('package.json');
    }
    const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:./${p.filename}`]));
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify(
        {
          name: 'fieldlink-consumer',
          private: true,
          type: 'module',
          dependencies,
          devDependencies: {
            vitest: rootManifest.devDependencies['vitest'],
            typescript: rootManifest.devDependencies['typescript'],
            '@types/node': rootManifest.devDependencies['@types/node'],
          },
        },
        null,
        2,
      ),
    );
    for (const file of readdirSync(consumerFiles)) copyFileSync(join(consumerFiles, file), join(consumer, file));
    // --ignore-scripts: no check here opens SQLite, and compiling better-sqlite3 takes minutes
    // (production-install.test.ts runs the services on SQLite).
    ok(run(consumer, 'npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']));
  });

  it('(a) plain node imports @fieldlink/domain and evaluates a CFS rule and a native rule', () => {
    expect(ok(run(consumer, process.execPath, ['check-domain.mjs']))).toContain('CFS rule 1 alert, native rule 1 alert');
  });

  it("(b) the consumer's vitest runs a conformance suite of @fieldlink/ports/testing against the in-memory queue", () => {
    const out = ok(run(consumer, 'npx', ['vitest', 'run', '--root', '.', 'queue-conformance.test.ts']));
    expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+\d+ passed \(\d+\)/);
  });

  it('(c) a strict consumer (exactOptionalPropertyTypes) type-checks with moduleResolution node16 and bundler', () => {
    ok(run(consumer, 'npx', ['tsc', '-p', 'tsconfig.node16.json']));
    ok(run(consumer, 'npx', ['tsc', '-p', 'tsconfig.bundler.json']));
  });

  it('(d) npx fieldlink prints its version and runs rules test on the example files', () => {
    const manifest = JSON.parse(readFileSync(join(workspaceRoot, 'apps', 'cli', 'package.json'), 'utf8')) as { version: string };
    expect(ok(run(consumer, 'npx', ['fieldlink', '--version'])).trim()).toBe(manifest.version);
    const examples = join('node_modules', 'fieldlink', 'examples');
    const out = ok(
      run(consumer, 'npx', [
        'fieldlink',
        'rules',
        'test',
        '--rules',
        join(examples, 'devicerules.json'),
        '--telemetry',
        join(examples, 'telemetry.sample.jsonl'),
      ]),
    );
    expect(out).toMatch(/\d+ alerts from 121 readings \(CFS devicerules\.json\)/);
    const native = ok(
      run(consumer, 'npx', [
        'fieldlink',
        'rules',
        'test',
        '--rules',
        join(examples, 'rules.native.json'),
        '--telemetry',
        join(examples, 'telemetry.sample.jsonl'),
      ]),
    );
    expect(native).toMatch(/\d+ alerts from 121 readings \(native rule document\)/);
  });
});
