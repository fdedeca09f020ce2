/**
 * Memory of `fieldlink rules test` against the size of the recording: the real CLI in a child
 * process, over recordings of 10k to 2M lines (a tenth of them bad, a fifth of the readings over
 * the CFS threshold of 70), printing the peak resident set size, the peak heap (garbage included) and
 * the peak live heap (sampled after a collection every second) of each run, as a
 * table or, with --json-output, as JSON. Flat figures down the table mean memory does not grow with
 * the input. Each recording is written before its runs, outside the measure.
 *
 *   npm run bench:rules-test-memory -w @fieldlink/bench -- [--sizes 10000,100000,1000000,2000000] [--json-output]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const sizes = (arg('--sizes') ?? '10000,100000,1000000,2000000').split(',').map(Number);
const jsonOutput = process.argv.includes('--json-output');
const dir = mkdtempSync(join(tmpdir(), 'fieldlink-rules-bench-'));

/** 1,000 devices reading once a second each, in time order; every tenth line is bad, a fifth of the readings cross 70. */
async function writeRecording(file: string, lines: number): Promise<void> {
  const out = createWriteStream(file);
  const start = Date.UTC(2026, 10, 28, 0, 0, 0);
  for (let i = 0; i < lines; i++) {
    let line: string;
    if (i % 10 === 9)
      line =
        i % 20 === 19
          ? 'not json at all'
          : `{"DeviceID":"thermostat-${i % 1000}","Temperature":"hot","EventToken":"t${i}","EventEnqueuedUtcTime":"2026-11-28T00:00:00Z"}`;
    else {
      const temperature = i % 5 === 0 ? 75 + (i % 7) : 60 + (i % 9);
      line = `{"DeviceID":"thermostat-${i % 1000}","Temperature":${temperature},"Humidity":41,"EventToken":"t${i}","EventEnqueuedUtcTime":"${new Date(start + Math.floor(i / 1000) * 1000).toISOString()}"}`;
    }
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const results: Array<{
  lines: number;
  fileMb: string;
  json: boolean;
  maxRssMb: string;
  peakHeapMb: string;
  peakLiveHeapMb: string;
  seconds: string;
  exit: number | null;
}> = [];
try {
  for (const lines of sizes) {
    const file = join(dir, `recording-${lines}.jsonl`);
    await writeRecording(file, lines);
    for (const json of [false, true]) {
      const memoryFile = join(dir, `memory-${lines}-${json}.json`);
      const started = process.hrtime.bigint();
      const run = spawnSync(
        process.execPath,
        [
          '--expose-gc',
          '--conditions=@fieldlink/source',
          '--import',
          'tsx',
          '--import',
          join(root, 'tools/bench/src/peak-memory.mjs'),
          join(root, 'apps/cli/src/main.ts'),
          'rules',
          'test',
          '--rules',
          join(root, 'fixtures/cfs/devicerules.json'),
          '--telemetry',
          file,
          ...(json ? ['--json'] : []),
        ],
        {
          cwd: root,
          env: { ...process.env, FIELDLINK_BENCH_MEMORY_OUT: memoryFile },
          stdio: ['ignore', 'ignore', 'ignore'],
        },
      );
      const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
      const memory = JSON.parse(readFileSync(memoryFile, 'utf8')) as { peakHeapBytes: number; peakLiveHeapBytes: number; maxRssBytes: number };
      results.push({
        lines,
        fileMb: mb(statSync(file).size),
        json,
        maxRssMb: mb(memory.maxRssBytes),
        peakHeapMb: mb(memory.peakHeapBytes),
        peakLiveHeapMb: mb(memory.peakLiveHeapBytes),
        seconds,
        exit: run.status,
      });
    }
    rmSync(file);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (jsonOutput) console.log(JSON.stringify(results, null, 2));
else {
  console.log('fieldlink rules test: peak memory by recording size (stdout discarded; 10 % bad lines)');
  console.log(
    [
      'lines'.padStart(10),
      'file MB'.padStart(8),
      'output'.padEnd(6),
      'max RSS MB'.padStart(11),
      'peak heap MB'.padStart(13),
      'live heap MB'.padStart(13),
      'seconds'.padStart(8),
      'exit'.padStart(5),
    ].join('  '),
  );
  for (const r of results)
    console.log(
      [
        r.lines.toLocaleString('en').padStart(10),
        r.fileMb.padStart(8),
        (r.json ? 'json' : 'table').padEnd(6),
        r.maxRssMb.padStart(11),
        r.peakHeapMb.padStart(13),
        r.peakLiveHeapMb.padStart(13),
        r.seconds.padStart(8),
        String(r.exit).padStart(5),
      ].join('  '),
    );
}
