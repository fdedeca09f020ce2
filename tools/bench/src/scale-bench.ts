/*
 * Scale: the memory the stream processor's ingest holds for 1,000,000 devices, with the CFS rule
 * (Temperature > 70, `THERMOSTAT_DEFAULT_RULES`) and per-minute aggregates of two reading types.
 *
 * Each device sends two readings over the threshold within one minute (so every device holds rule
 * state, two open minute windows, its last readings and activity). The alerts queue and the stores
 * count what they are given and keep nothing: what is measured is what the ingest itself holds.
 * What is held is the memory after the run (collected) minus the memory before it, beside the target
 * of 1 GB: V8's heap and the array buffers outside it together, as the ingest keeps part of its
 * state in typed arrays (the CFS suppression memory, the minute windows), whose contents V8 keeps
 * outside its heap (`process.memoryUsage().arrayBuffers`); each part is printed too. The node process runs with
 * --max-old-space-size=2048, so a run over the target still ends and prints how far over it is.
 * The full ingest then runs again in a process of its own whose heap is limited to 1 GB
 * (`--max-old-space-size=1024`, V8's heap alone): held is what stays, and this run says whether the
 * ingest gets there in 1 GB at all (the peak used, garbage included, depends on the limit V8 is
 * given, so it is printed for the 2 GB run without a target).
 *
 * The readings are handed over a batch at a time with a turn of the event loop after each, as an
 * intake hands them (the in-memory hub, Event Hubs' receive loop): a commit writes between two
 * turns, so a feed that never yields keeps its first cut unwritten, and every device changed after
 * it is kept twice: as the cut holds it and as changed since (docs/performance.md, "Twelfth round").
 *
 * Run: npm run bench:scale -w @fieldlink/bench   (options: --devices 1000000; --only full: that run alone, printing what it held)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngest } from '@fieldlink/flows';
import { silentLog, type DeviceHealth, type MinuteAggregate, type QueueMessage, type TelemetryEnvelope } from '@fieldlink/ports';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '1000000' }, only: { type: 'string' } } });
if (values.only !== undefined && values.only !== 'full') throw new Error(`--only takes full (got ${values.only})`);
const DEVICES = Number(values.devices);
const PARTITIONS = 4;
const BATCH = 100;
const START = Date.UTC(2026, 10, 28, 9);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run node with --expose-gc');

/** V8's heap in use and the array buffers' contents outside it (typed arrays' storage). */
interface Held {
  readonly heap: number;
  readonly buffers: number;
}
const inUse = (): Held => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, buffers: arrayBuffers };
};
const collected = (): Held => {
  gc();
  gc();
  return inUse();
};
const total = (h: Held): number => h.heap + h.buffers;

/** Keeps nothing, counts what it is given. */
const counted = { alerts: 0, rows: 0, health: 0, saves: 0 };
const alertsQueue = { send: async (messages: readonly QueueMessage[]) => void (counted.alerts += messages.length) };
const statusStore = {
  writeAggregates: async (rows: readonly MinuteAggregate[]) => void (counted.rows += rows.length),
  upsertDeviceHealth: async () => void counted.health++,
  upsertManyDeviceHealth: async (rows: readonly DeviceHealth[]) => void (counted.health += rows.length),
};
const ruleStateStore = { load: async () => undefined, save: async () => void counted.saves++ };

const encoder = new TextEncoder();
const sequence = new Array<number>(PARTITIONS).fill(0);
/** Round `round` of readings, one per device, made a batch at a time so the readings are garbage once handled, with a turn of the event loop after each batch (as an intake hands them over). */
async function feed(ingest: TelemetryIngest, round: number): Promise<void> {
  for (let first = 0; first < DEVICES; first += BATCH * PARTITIONS) {
    for (let p = 0; p < PARTITIONS; p++) {
      const batch: TelemetryEnvelope[] = [];
      for (let d = first + p * BATCH; d < Math.min(DEVICES, first + (p + 1) * BATCH); d++) {
        const deviceId = `thermostat-${d}`;
        const body = encoder.encode(JSON.stringify({ DeviceID: deviceId, Temperature: 71 + round, Humidity: 40, EventToken: `r${round}-${d}` }));
        // Both rounds within the same minute of event time.
        batch.push({
          body,
          connectionDeviceId: deviceId,
          enqueuedTime: START + round * 20_000 + Math.floor((d * 10_000) / DEVICES),
          partitionId: String(p),
          sequenceNumber: sequence[p]!++,
        });
      }
      if (batch.length > 0) await ingest.ingestBatch(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

async function measure(full: boolean): Promise<{ held: Held; peak: number; ms: number }> {
  const before = collected();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, total(inUse()))), 50);
  const started = performance.now();
  const ingest = new TelemetryIngest({
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    alertsQueue,
    rejected: new InMemoryRejectedTelemetry(),
    log: silentLog,
    defaultDeviceType: 'Thermostat',
    commitIntervalMs: 1_000,
    ...(full ? { statusStore, ruleStateStore } : {}),
  });
  await feed(ingest, 0);
  await feed(ingest, 1);
  await ingest.flush();
  const ms = performance.now() - started;
  clearInterval(sampler);
  const after = collected();
  const held: Held = { heap: after.heap - before.heap, buffers: after.buffers - before.buffers };
  peak = Math.max(peak, total(inUse()));
  // Keeps the ingest (and its state) alive until the memory was read.
  if (ingest.constructor.name === '') console.log('');
  return { held, peak, ms };
}

const MB = 1024 * 1024;
const fmt = (n: number): string => n.toLocaleString('en');
const HEAP_LIMIT_MB = 1_024;
const megabytes = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;
/** Held in all, then its parts. */
const parts = (h: Held): string => `${megabytes(total(h))} (heap ${megabytes(h.heap)}, array buffers ${megabytes(h.buffers)})`;
if (values.only === 'full') {
  console.log(JSON.stringify((await measure(true)).held));
  process.exit(0);
}
const rules = await measure(false);
const full = await measure(true);

/** The full ingest again, in a process whose heap is limited to `HEAP_LIMIT_MB`: what it held, or why it did not finish. */
function fullIngestWithinLimit(): string {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size'));
  const run = spawnSync(
    process.execPath,
    [...execArgv, `--max-old-space-size=${HEAP_LIMIT_MB}`, fileURLToPath(import.meta.url), '--devices', String(DEVICES), '--only', 'full'],
    { encoding: 'utf8' },
  );
  if (run.status === 0) {
    const held = JSON.parse(run.stdout.trim()) as Held;
    return `finished, ${megabytes(total(held))} held (${megabytes(held.heap)} on the heap)`;
  }
  return /heap out of memory/i.test(run.stderr)
    ? 'ran out of heap'
    : `failed (exit ${run.status ?? run.signal}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`;
}
const withinLimit = fullIngestWithinLimit();
const rulesPerDevice = THERMOSTAT_DEFAULT_RULES.length;
const rows: Array<[string, string, string]> = [
  [`rule state (CFS rule, alerts only), ${fmt(DEVICES)} devices: memory held`, parts(rules.held), ''],
  ['rule state per device per rule (heap and array buffers)', `${(total(rules.held) / DEVICES / rulesPerDevice).toFixed(0)} bytes`, '<= 200 bytes'],
  [`full ingest (CFS rule + per-minute aggregates of 2 readings), ${fmt(DEVICES)} devices: memory held`, parts(full.held), '<= 1,024 MB'],
  ['full ingest: memory held per device', `${(total(full.held) / DEVICES).toFixed(0)} bytes`, ''],
  ['full ingest: peak memory used during the run (garbage included; grows with the heap limit)', megabytes(full.peak), ''],
  [`full ingest again in a process of its own with the heap limited to ${fmt(HEAP_LIMIT_MB)} MB`, withinLimit, 'finished'],
  ['full ingest: readings/s (2 per device)', fmt(Math.round((2 * DEVICES * 1000) / full.ms)), ''],
  [
    'alerts, aggregate rows, health rows, state saves written',
    `${fmt(counted.alerts)}, ${fmt(counted.rows)}, ${fmt(counted.health)}, ${fmt(counted.saves)}`,
    '',
  ],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`Fieldlink ingest at scale (node ${process.version}, heap limit ${fmt(Math.round(getHeapStatistics().heap_size_limit / MB))} MB)\n`);
for (const [m, f, t] of rows) console.log(`${m.padEnd(w0)}  ${f.padStart(w1)}  ${t}`);
