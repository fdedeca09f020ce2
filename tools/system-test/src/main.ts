#!/usr/bin/env node
/**
 * `npm run test:system [-- --seed <n>] [--soak <minutes>]`: the system test (see system-run.ts).
 * Prints the seed first (replay a run with it), the faults as they happen, and the figures at the
 * end; exits 1 when an assertion failed.
 */
import { parseArgs } from 'node:util';
import { killAllServiceProcesses } from './service-process.js';
import { formatReport, runSystem } from './system-run.js';

const { values } = parseArgs({ options: { seed: { type: 'string' }, soak: { type: 'string' }, devices: { type: 'string', default: '6' } } });
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const soakMinutes = values.soak === undefined ? undefined : Number(values.soak);
if (!Number.isInteger(seed) || seed < 0) {
  process.stderr.write(`--seed must be a whole number from 0, got "${values.seed}"\n`);
  process.exit(2);
}
if (soakMinutes !== undefined && !(soakMinutes > 0 && soakMinutes <= 24 * 60)) {
  process.stderr.write(`--soak must be minutes above 0 (at most a day), got "${values.soak}"\n`);
  process.exit(2);
}
const devices = Number(values.devices);
const options = { seed, faultWindowMs: soakMinutes === undefined ? 60_000 : soakMinutes * 60_000, devices };
// Interrupted: no service process outlives the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killAllServiceProcesses();
    process.exit(130);
  });
const report = await runSystem(options);
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.failures.length === 0 ? 0 : 1);
