/**
 * Start-up of `fieldlink up` from the TypeScript sources (node with tsx as a loader, what
 * `npm start` runs in a development checkout) and from the build (node on apps/cli/dist/main.js,
 * what a production install runs), in one run and alternating, so that both see the same machine.
 * Each run is a fresh process timed from spawn to its `fieldlink.up` line (every part started;
 * in-memory ports, no web pages), then stopped. Prints each run and the median of each. Needs the
 * build first: `npx nx run cli:build`.
 *
 *   npm run bench:up-startup -w @fieldlink/bench -- [--runs 5]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 5 : Number(process.argv[runsArg + 1]);
const built = join(root, 'apps/cli/dist/main.js');
if (!existsSync(built)) {
  console.error('up-startup-bench: apps/cli/dist/main.js is missing; build first: npx nx run cli:build');
  process.exit(2);
}

const upArgs = ['up', '--ephemeral', '--no-web', '--devices', '10', '--json'];
// Without the source condition, @fieldlink/* resolve to their dist: the same as a production install.
const { NODE_OPTIONS: _inherited, ...env } = process.env;
const variants = {
  source: [`--conditions=@fieldlink/source`, '--import', 'tsx', join(root, 'apps/cli/src/main.ts'), ...upArgs],
  build: [built, ...upArgs],
} as const;

function startOnce(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: root, env });
    let out = '';
    let elapsedMs: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (elapsedMs === undefined && out.includes('"event":"fieldlink.up"')) {
        elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => (elapsedMs === undefined ? reject(new Error(`fieldlink up ended (${code}) before it was up:\n${out}`)) : resolve(elapsedMs)));
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const times: Record<keyof typeof variants, number[]> = { source: [], build: [] };
for (let i = 1; i <= runs; i++) {
  for (const name of Object.keys(variants) as (keyof typeof variants)[]) {
    const ms = await startOnce(variants[name]);
    times[name].push(ms);
    console.log(`run ${i}  ${name.padEnd(6)}  ${ms.toFixed(0).padStart(6)} ms`);
  }
}
const source = median(times.source);
const build = median(times.build);
console.log(
  `\nfieldlink up, spawn to "fieldlink.up", median of ${runs}: from source ${source.toFixed(0)} ms, from the build ${build.toFixed(0)} ms (${(source / build).toFixed(2)}x)`,
);
