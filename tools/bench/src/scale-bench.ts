/*
 * Scale: the heap the stream processor's ingest holds for 1,000,000 devices, with the CFS rule
 * (Temperature > 70, `THERMOSTAT_DEFAULT_RULES`) and per-minute aggregates of two reading types.
 *
 * Each device sends two readings over the threshold within one minute (so every device holds rule
 * state, two open minute windows, its last readings and activity). The alerts queue and the stores
 * count what they are given and keep nothing: what is measured is what the ingest itself holds.
 * The heap held is the heap after the run (collected) minus the heap before it, beside the target
 * of 1 GB; the node process runs with --max-old-space-size=2048, so a run over the target still
 * ends and prints how far over it is.
 *
 * Run: npm run bench:scale -w @fieldlink/bench   (options: --devices 1000000)
 */
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngest } from '@fieldlink/flows';
import { silentLog, type DeviceHealth, type MinuteAggregate, type QueueMessage, type TelemetryEnvelope } from '@fieldlink/ports';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '1000000' } } });
const DEVICES = Number(values.devices);
const PARTITIONS = 4;
const BATCH = 100;
const START = Date.UTC(2026, 10, 28, 9);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run node with --expose-gc');

const heapUsed = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

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
/** Round `round` of readings, one per device, made a batch at a time so the readings are garbage once handled. */
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
    }
  }
}

async function measure(full: boolean): Promise<{ held: number; peak: number; ms: number }> {
  const before = heapUsed();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 50);
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
  const held = heapUsed() - before;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  // Keeps the ingest (and its state) alive until the heap was read.
  if (ingest.constructor.name === '') console.log('');
  return { held, peak, ms };
}

const MB = 1024 * 1024;
const fmt = (n: number): string => n.toLocaleString('en');
const rules = await measure(false);
const full = await measure(true);
const rulesPerDevice = THERMOSTAT_DEFAULT_RULES.length;
const rows: Array<[string, string, string]> = [
  [`rule state (CFS rule, alerts only), ${fmt(DEVICES)} devices: heap held`, `${(rules.held / MB).toFixed(0)} MB`, ''],
  ['rule state per device per rule', `${(rules.held / DEVICES / rulesPerDevice).toFixed(0)} bytes`, '<= 200 bytes'],
  [`full ingest (CFS rule + per-minute aggregates of 2 readings), ${fmt(DEVICES)} devices: heap held`, `${(full.held / MB).toFixed(0)} MB`, '<= 1,024 MB'],
  ['full ingest: heap held per device', `${(full.held / DEVICES).toFixed(0)} bytes`, ''],
  ['full ingest: peak heap used during the run (garbage included)', `${(full.peak / MB).toFixed(0)} MB`, '<= 1,024 MB'],
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
