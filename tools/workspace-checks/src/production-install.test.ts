import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * An operator's install: the workspace built, then `npm ci --omit=dev` in a copy of it, so that no
 * devDependency (tsx, typescript, vitest, the Azure stand-ins' servers) is there. `fieldlink up`
 * and each service then run from the built JavaScript. Each step is printed with its command.
 */
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { NODE_OPTIONS: _sourceCondition, ...cleanEnv } = process.env;
const env = { ...cleanEnv, NO_COLOR: '1', NX_DAEMON: 'false', NX_TUI: 'false' };
const copy = mkdtempSync(join(tmpdir(), 'fieldlink-production-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

function run(cwd: string, command: string, args: readonly string[]): SpawnSyncReturns<string> {
  console.log(`\n$ (${cwd === workspaceRoot ? 'workspace' : 'production copy'}) ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = `${result.stdout}${result.stderr}`.trim();
  console.log(out.length > 3000 ? `…${out.slice(-3000)}` : out);
  expect(result.error, String(result.error)).toBeUndefined();
  expect(result.status, out).toBe(0);
  return result;
}

/** Starts `args` in the copy, waits for `ready` in its output (60 s at most), runs `probe` on the match, stops it with `signal` and returns the exit code and output. */
async function runUntil(
  args: readonly string[],
  ready: RegExp,
  signal: NodeJS.Signals = 'SIGTERM',
  extraEnv: Record<string, string> = {},
  probe?: (match: RegExpExecArray) => Promise<void>,
): Promise<{ code: number | null; out: string }> {
  console.log(`\n$ (production copy) node ${args.join(' ')}   # until ${ready.source}, then ${signal}`);
  const child = spawn(process.execPath, args, { cwd: copy, env: { ...env, ...extraEnv } });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Past 60 s (or once it exited) it goes on: the caller's assertions on the output say what was missing.
  await waitFor(`${ready.source} in the output`, () => (ready.test(out) || child.exitCode !== null ? true : undefined), 60_000, 100).catch(() => undefined);
  const match = ready.exec(out);
  try {
    if (match !== null) await probe?.(match);
  } finally {
    child.kill(signal);
  }
  const code = await closed;
  console.log(out.trim().split('\n').slice(0, 12).join('\n'));
  expect(out).toMatch(ready);
  return { code, out };
}

describe('a production install (npm ci --omit=dev) of the built workspace', () => {
  it('installs without any devDependency', () => {
    // Under nx (npm test) the build ran before, as this target's dependency; run alone, build here.
    if (process.env['NX_TASK_TARGET_PROJECT'] === undefined) run(workspaceRoot, 'npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']);
    const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: workspaceRoot, encoding: 'utf8' })
      .stdout.split('\0')
      .filter((f) => f !== '' && existsSync(join(workspaceRoot, f)));
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(workspaceRoot, file), join(copy, file));
    }
    // The build output, which git ignores.
    for (const group of ['libs', 'libs/adapters', 'libs/ui', 'apps', 'contracts']) {
      const dirs = group === 'contracts' ? [''] : readdirSync(join(workspaceRoot, group));
      for (const dir of dirs) {
        const dist = join(group, dir, 'dist');
        if (existsSync(join(workspaceRoot, dist))) cpSync(join(workspaceRoot, dist), join(copy, dist), { recursive: true });
      }
    }
    // --ignore-scripts, then the SQLite binding this machine's workspace install built: compiling
    // SQLite again takes minutes and says nothing about our packages.
    run(copy, 'npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
    cpSync(join(workspaceRoot, 'node_modules', 'better-sqlite3', 'build'), join(copy, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
    for (const devOnly of ['tsx', 'typescript', 'vitest', 'nx', 'azurite', 'aedes', 'selfsigned', '@pact-foundation/pact', 'playwright-core']) {
      expect(existsSync(join(copy, 'node_modules', devOnly)), `${devOnly} is a devDependency`).toBe(false);
    }
  });

  it('npm start runs fieldlink up (the durable default) from the build, until Ctrl-C', async () => {
    // The start script's own command line (its node flags included), with what `npm start -- …` would add after it.
    const start = (JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(start[0]).toBe('node');
    expect(start.slice(-2)).toEqual(['apps/cli/bin/fieldlink.mjs', 'up']);
    const { code, out } = await runUntil(
      [...start.slice(1), '--data-dir', join(copy, '.fieldlink'), '--devices', '2', '--interval', '200', '--no-web'],
      /fieldlink\.up\b/,
      'SIGINT',
    );
    expect(out).toContain('fieldlink.stopped');
    expect(code).toBe(0);
  });

  it('each service runs from its dist/main.js', async () => {
    const json = { FIELDLINK_LOG_FORMAT: 'json' };
    for (const service of ['orchestrator', 'stream-processor']) {
      expect((await runUntil([`apps/${service}/dist/main.js`], new RegExp(`"event":"${service}\\.started"`), 'SIGTERM', json)).code).toBe(0);
    }
    // The pages' HTML, CSS and scripts are served from dist, where the build copied them.
    const page = async (match: RegExpExecArray): Promise<void> => {
      const response = await fetch(match[1]!);
      expect(response.status).toBe(200);
      const script = /<script type="module" src="\/([^"]+)"/.exec(await response.text())?.[1];
      expect(script).toBeDefined();
      expect((await fetch(new URL(script!, match[1]!))).status).toBe(200);
    };
    await runUntil(['apps/console/dist/main.js', '--port', '0'], /Console: (http:\/\/127\.0\.0\.1:\d+\/)/, 'SIGTERM', {}, page);
    await runUntil(['apps/thermostat-simulator/dist/main.js', '--port', '0'], /Thermostat simulator: (http:\/\/127\.0\.0\.1:\d+\/)/, 'SIGTERM', {}, page);
    await runUntil(['apps/dataverse-emulator/dist/main.js', '--port', '0'], /Dataverse emulator: organisation URL http:\/\/127\.0\.0\.1:\d+/);
  });
});
