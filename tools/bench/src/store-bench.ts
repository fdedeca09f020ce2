/*
 * Full ingest (flows 3 → 6 and 5: rules, per-minute aggregates, device health, partition state
 * committed every second) with the status store and rule state on each backend, in one run:
 *
 *   in-memory  InMemoryStatusStore + InMemoryRuleStateStore (the baseline)
 *   sqlite     SqlStatusStore on a SQLite file (WAL) + SqliteRuleStateStore on the same file
 *   sqlite+q   the same, with the alerts queue in SQLite too (the durable default's wiring)
 *   postgres   SqlStatusStore on a PostgreSQL server started for the run + InMemoryRuleStateStore
 *   sqlite+hub sqlite+q, the readings read from the SQLite IoT hub (a file of its own) through the
 *              ingest's subscription: the durable default's whole stream processor (the sends into
 *              the hub are measured apart: each awaited before the next, a transaction each, and
 *              all at once, the sends of one turn in one transaction)
 *
 * Run: npm run bench:store -w @fieldlink/bench   (or: NX_DAEMON=false npx nx run bench:bench:store)
 * Options: --devices 10000 --readings 400000 --commit-interval-ms 1000 --rounds 2 --no-postgres
 * PostgreSQL comes from the installed `postgresql` package (see libs/adapters/sql/README.md).
 * Target: the SQLite figure at least half the in-memory one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryRuleStateStore, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import {
  openPostgresDatabase,
  openSqliteDatabase,
  openSqliteFile,
  SqliteIotHub,
  SqliteQueue,
  SqliteRuleStateStore,
  SqlStatusStore,
  type SqlDatabase,
} from '@fieldlink/adapter-sql';
import { startPostgresServer } from '@fieldlink/adapter-sql/testing';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngest } from '@fieldlink/flows';
import {
  silentLog,
  type MessageQueuePort,
  type RuleStateStorePort,
  type StatusStorePort,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
} from '@fieldlink/ports';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    readings: { type: 'string', default: '400000' },
    'commit-interval-ms': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const DEVICES = Number(values.devices);
const READINGS = Number(values.readings);
const COMMIT_INTERVAL_MS = Number(values['commit-interval-ms']);
const ROUNDS = Math.max(1, Number(values.rounds));
const PARTITIONS = 4;
const BATCH = 100;
const ALERT_EVERY = 100;

const encoder = new TextEncoder();
const baseTime = Date.UTC(2026, 10, 28, 9);

/** The same traffic as the pipeline benchmark: device round robin, 10,000 readings per second of event time, 1 % over the threshold. */
function envelopes(): TelemetryEnvelope[][] {
  const batches: TelemetryEnvelope[][] = [];
  const sequence = new Array<number>(PARTITIONS).fill(0);
  let batch: TelemetryEnvelope[] = [];
  for (let n = 0; n < READINGS; n++) {
    const deviceId = `thermostat-${(n % DEVICES) + 1}`;
    const alert = n % ALERT_EVERY === 0;
    const temperature = alert ? 71 + (Math.floor(n / DEVICES) % 1000) / 10 : 60 + (n % 100) / 10;
    const body = encoder.encode(JSON.stringify({ DeviceID: deviceId, Temperature: temperature, Humidity: 40 + (n % 20), EventToken: `r-${n}` }));
    const partition = n % PARTITIONS;
    batch.push({
      body,
      connectionDeviceId: deviceId,
      enqueuedTime: baseTime + Math.floor(n / 10),
      partitionId: String(partition),
      sequenceNumber: sequence[partition]!++,
    });
    if (batch.length === BATCH) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

interface Backend {
  readonly statusStore: StatusStorePort;
  readonly ruleStateStore: RuleStateStorePort;
  readonly alertsQueue: MessageQueuePort;
  close(): Promise<void>;
}

type BackendName = 'in-memory' | 'sqlite' | 'sqlite+q' | 'sqlite+hub' | 'postgres';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-store-bench-'));
let files = 0;
let postgres: Awaited<ReturnType<typeof startPostgresServer>> | undefined;

async function open(name: BackendName): Promise<Backend> {
  const memoryQueue = () => new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 60_000 });
  switch (name) {
    case 'in-memory':
      return { statusStore: new InMemoryStatusStore(), ruleStateStore: new InMemoryRuleStateStore(), alertsQueue: memoryQueue(), close: async () => undefined };
    case 'sqlite':
    case 'sqlite+q':
    case 'sqlite+hub': {
      const file = join(dir, `state-${++files}.db`);
      const database: SqlDatabase = await openSqliteDatabase({ file });
      const sqlite = openSqliteFile(file);
      const alertsQueue = name !== 'sqlite' ? new SqliteQueue(sqlite, 'alerts', { duplicateDetectionWindowMs: 60_000 }) : memoryQueue();
      return {
        statusStore: new SqlStatusStore(database),
        ruleStateStore: new SqliteRuleStateStore(sqlite),
        alertsQueue,
        close: async () => {
          await database.close();
          sqlite.close();
        },
      };
    }
    case 'postgres': {
      postgres ??= await startPostgresServer();
      const database = await openPostgresDatabase({ connectionString: await postgres.createDatabase() });
      return {
        statusStore: new SqlStatusStore(database),
        ruleStateStore: new InMemoryRuleStateStore(),
        alertsQueue: memoryQueue(),
        close: () => database.close(),
      };
    }
  }
}

/** Readings/s of full ingest over every batch, the final commit included. */
async function fullIngest(name: BackendName, batches: readonly TelemetryEnvelope[][]): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const backend = await open(name);
  const ingest = newIngest(backend);
  if (name === 'sqlite+hub') return throughHub(backend, ingest, batches);
  const t = performance.now();
  for (const b of batches) await ingest.ingestBatch(b);
  await ingest.flush();
  const ms = performance.now() - t;
  await backend.close();
  return Math.round((READINGS * 1000) / ms);
}

/** Device sends per second into the SQLite hub, each awaited before the next (a transaction each), measured beside the `sqlite+hub` rounds. */
const hubSends: number[] = [];
/** The same readings sent all at once, as a fleet's devices sending together: the hub writes the sends of one turn in one transaction. */
const burstSends: number[] = [];

/**
 * The readings sent into a SQLite hub one by one (each its own transaction, as devices send) with
 * their event times, then read by the ingest through its subscription (by-handler checkpoints,
 * marked after each commit), as a stream processor that starts behind the devices: timed from
 * the subscription until the last reading is handled and committed. The sends are timed apart.
 */
async function throughHub(backend: Backend, ingest: TelemetryIngest, batches: readonly TelemetryEnvelope[][]): Promise<number> {
  const hubFile = openSqliteFile(join(dir, `hub-${++files}.db`));
  const hub = new SqliteIotHub(hubFile, { partitionCount: PARTITIONS, pollIntervalMs: 20, retentionPerPartition: READINGS });
  // The consumer group exists before the first send (a new group starts at the end of the stream).
  await (await hub.subscribe('rules', async () => undefined, { checkpoints: 'by-handler' })).close();
  const total = batches.reduce((sum, b) => sum + b.length, 0);
  const sent = performance.now();
  for (const b of batches) for (const e of b) await hub.sendRecorded(e.connectionDeviceId, e.body, e.enqueuedTime);
  hubSends.push(Math.round((total * 1000) / (performance.now() - sent)));
  // Into a hub file of its own, not read: only the sends are timed.
  const burstFile = openSqliteFile(join(dir, `hub-${++files}.db`));
  const burstHub = new SqliteIotHub(burstFile, { partitionCount: PARTITIONS, retentionPerPartition: READINGS });
  const burst = performance.now();
  await Promise.all(batches.flatMap((b) => b.map((e) => burstHub.sendRecorded(e.connectionDeviceId, e.body, e.enqueuedTime))));
  burstSends.push(Math.round((total * 1000) / (performance.now() - burst)));
  await burstHub.close();
  burstFile.close();
  let handled = 0;
  let done!: () => void;
  const allHandled = new Promise<void>((resolve) => (done = resolve));
  const counting: TelemetryIntakePort = {
    subscribe: (group, handler, options) =>
      hub.subscribe(
        group,
        async (batch, partition) => {
          await handler(batch, partition);
          handled += batch.length;
          if (handled >= total) done();
        },
        options,
      ),
  };
  const t = performance.now();
  const subscription = await ingest.subscribe(counting, 'rules');
  await allHandled;
  await subscription.close();
  const ms = performance.now() - t;
  await hub.close();
  hubFile.close();
  await backend.close();
  return Math.round((total * 1000) / ms);
}

function newIngest(backend: Backend): TelemetryIngest {
  return new TelemetryIngest({
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    alertsQueue: backend.alertsQueue,
    rejected: new InMemoryRejectedTelemetry(),
    statusStore: backend.statusStore,
    ruleStateStore: backend.ruleStateStore,
    log: silentLog,
    defaultDeviceType: 'Thermostat',
    commitIntervalMs: COMMIT_INTERVAL_MS,
  });
}

const fmt = (n: number): string => n.toLocaleString('en');
const batches = envelopes();
const names: BackendName[] = ['in-memory', 'sqlite', 'sqlite+q', 'sqlite+hub', ...(values['no-postgres'] ? [] : (['postgres'] as const))];
// A warm-up pass on a tenth of the traffic (JIT), then the rounds, interleaved so a load change on the machine hits every backend alike.
for (const name of names) {
  process.stderr.write(`warm-up ${name}…\n`);
  await fullIngest(name, batches.slice(0, Math.ceil(batches.length / 10)));
}
const results = new Map<BackendName, number[]>(names.map((n) => [n, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const name of names) {
    process.stderr.write(`round ${round}: ${name}…\n`);
    results.get(name)!.push(await fullIngest(name, batches));
  }
}
await postgres?.stop();
rmSync(dir, { recursive: true, force: true });

const best = (name: BackendName): number => Math.max(...results.get(name)!);
const memory = best('in-memory');
console.log(
  `Fieldlink full ingest by store (node ${process.version}, ${fmt(READINGS)} readings, ${fmt(DEVICES)} devices, ${PARTITIONS} partitions, batches of ${BATCH}, commit every ${fmt(COMMIT_INTERVAL_MS)} ms; best of ${ROUNDS}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})\n`,
);
console.log(`${'store'.padEnd(10)}  ${'readings/s'.padStart(12)}  ${'× in-memory'.padStart(11)}  rounds`);
for (const name of names) {
  console.log(
    `${name.padEnd(10)}  ${fmt(best(name)).padStart(12)}  ${(best(name) / memory).toFixed(3).padStart(11)}  ${results.get(name)!.map(fmt).join(', ')}`,
  );
}
if (hubSends.length > 0)
  console.log(
    `\nsqlite+hub: the readings read from the hub file by the ingest's subscription; device sends into the hub, each awaited before the next (a transaction each): ${fmt(Math.max(...hubSends))}/s; all at once (one transaction a turn): ${fmt(Math.max(...burstSends))}/s`,
  );
console.log(`\ntarget: sqlite >= 0.5 × in-memory (${best('sqlite') / memory >= 0.5 ? 'met' : 'not met'})`);
