/*
 * The in-process pipeline, measured: a device's JSON reading in, an `msdyn_iotalert` record out.
 *
 *   1. Throughput through ingest (flows 3 → 6): readings/s of TelemetryIngest over 10,000 devices,
 *      in the hub's batches, with a JSON.parse-only pass over the same bodies as the baseline of
 *      the same run (the floor any JSON pipeline pays), reported as a ratio.
 *   2. The same through the in-memory hub (send, partition, consumer-group delivery, checkpoint).
 *   3. Latency under paced open-loop load: R readings/s over N devices for a bounded time, through
 *      hub → ingest (rules, aggregates, device health, rule state) → alerts queue → inbound
 *      alerts → in-memory CRM. The latency of an alert is from the time its reading was due to be
 *      sent (open loop: a stall counts against every reading it delays) to the alert record. Each
 *      run is a fresh pipeline; then one pipeline is kept up for several such windows in turn, to
 *      show what time does to it (a stream processor runs for hours).
 *
 * Run: npm run bench:pipeline -w @fieldlink/bench   (or: NX_DAEMON=false npx nx run bench:bench:pipeline); node with
 * --expose-gc (the script passes it) collects the heap between stages; --max-semi-space-size=16,
 * --initial-old-space-size=256 and --v8-pool-size=0 (the script passes them too) size the heap and V8's
 * threads as the stream processor's scripts do; the table's heading names them.
 * Options: --devices 10000 --rate 10000 --seconds 10 --alert-share 0.01 --throughput-readings 400000
 *          --commit-interval-ms 1000 --rounds 5 --latency-runs 10 --kept-up-windows 6 --workers 2
 *          --hub-pass-readings 200000 --only throughput|workers|latency
 * Without --only, the three stages (throughput, workers, latency) run one after the other, each in a
 * process of its own started with the same node flags (the workers stage with --single-threaded-gc
 * too: see below), and each prints its table.
 *
 * `rules` runs ingest raising alerts only; `full` adds what the stream processor also does
 * (per-minute aggregates and device health, written with the partition's state at every commit),
 * so the two show where time goes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { InMemoryCrm, InMemoryIotHub, randomIds } from '@fieldlink/adapter-in-memory';
import { InboundAlerts, QueueProcessor, SINGLE_THREADED_GC, TelemetryIngest, TelemetryIngestWorkers } from '@fieldlink/flows';
import { silentLog, type CrmGatewayPort, type NewIoTAlert, type TelemetryEnvelope } from '@fieldlink/ports';
import { openSqliteDatabase, openSqliteFile, SqliteIotHub, SqliteRuleStateStore, SqlStatusStore } from '@fieldlink/adapter-sql';
import { countingIntake, HandledCounter, type HubSourceSettings } from './hub-source.js';
import type { IndependentIngestSettings, IndependentPass } from './independent-ingest.js';
import { handOver, hubBatches, ingestDepsOf, ingestOf, partitionBatches, readingsOf, relabelled, type IngestMode } from './pipeline-parts.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    'alert-share': { type: 'string', default: '0.01' },
    'throughput-readings': { type: 'string', default: '400000' },
    'commit-interval-ms': { type: 'string', default: '1000' },
    only: { type: 'string' },
    'latency-runs': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
    'kept-up-windows': { type: 'string', default: '6' },
    'hub-pass-readings': { type: 'string', default: '200000' },
  },
});
const COMMIT_INTERVAL_MS = Number(values['commit-interval-ms']);
const ONLY = values.only;
if (ONLY !== undefined && ONLY !== 'throughput' && ONLY !== 'latency' && ONLY !== 'workers')
  throw new Error(`--only takes throughput, workers or latency (got ${ONLY})`);
const LATENCY_RUNS = Number(values['latency-runs']);
const KEPT_UP_WINDOWS = Number(values['kept-up-windows']);
if (!(Number.isInteger(KEPT_UP_WINDOWS) && KEPT_UP_WINDOWS >= 0)) throw new Error(`--kept-up-windows takes a whole number (got ${values['kept-up-windows']})`);
const ROUNDS = Number(values.rounds);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`--rounds takes a whole number of 1 or more (got ${values.rounds})`);
const WORKERS = Number(values.workers);
const DEVICES = Number(values.devices);
const RATE = Number(values.rate);
const SECONDS = Math.min(60, Number(values.seconds));
const ALERT_SHARE = Number(values['alert-share']);
const THROUGHPUT_READINGS = Number(values['throughput-readings']);
const BATCH = 100;
/** Readings a pass of the hub-reading stages writes and times (the workers reading a SQLite hub file). */
const HUB_PASS_READINGS = Number(values['hub-pass-readings']);
if (!(Number.isInteger(HUB_PASS_READINGS) && HUB_PASS_READINGS >= 1_000))
  throw new Error(`--hub-pass-readings takes a whole number of 1000 or more (got ${values['hub-pass-readings']})`);
/**
 * Passes each thread configuration of the across-cores stages runs before the measured rounds
 * (the hub-reading stages and the ceiling). With one, on a machine where a pass took half a
 * second, the first measured round of 2 workers against 1 ran under the run's median in each of
 * four runs of eleven rounds, as did the ceiling's, and threads other than the workers' and the
 * main thread's (V8's compiling and collecting) spent more per reading in runs of five rounds than
 * in the median round of eleven: the threads were still warming up (docs/performance.md,
 * "Thirtieth round"). With three, V8's compiler thread still spent 39 to 50 ms of CPU in the first
 * measured pass of 2 workers reading the hub (a pass of about 300 ms, whose workers then share
 * their cores with it) and 11 to 19 ms in the second, 0 to 17 ms after ("Thirty-second round").
 */
const WARM_UP_PASSES = 5;

// The whole benchmark runs each stage in a process of its own, one after the other: run in one heap,
// the latency stage inherited a young generation the throughput stages had grown to its largest,
// and its collections' pauses (so its p99) were two to three times those of the same stage run
// alone (docs/performance.md, "Eighth round"). A stream processor's heap holds its pipeline only.
// The workers stage runs with node's `--single-threaded-gc`, as the stream processor should where its ingest workers are
// as many as the cores (`collectorAdvice` in `@fieldlink/flows` logs it): with parallel collection, a worker's scavenge
// waited for V8's helper thread to get a core the other worker held ("Thirty-first round").
if (ONLY === undefined) {
  for (const only of ['throughput', 'workers', 'latency']) {
    const collector = only === 'workers' && !process.execArgv.includes(SINGLE_THREADED_GC) ? [SINGLE_THREADED_GC] : [];
    const stage = spawnSync(process.execPath, [...process.execArgv, ...collector, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--only', only], {
      stdio: 'inherit',
    });
    if (stage.status !== 0) process.exit(stage.status ?? 1);
  }
  process.exit(0);
}

const body = readingsOf({ devices: DEVICES, alertShare: ALERT_SHARE });

const rate = (count: number, ms: number): number => Math.round((count * 1000) / ms);
const fmt = (n: number): string => n.toLocaleString('en');

/** A full collection, where node runs with `--expose-gc` (the scripts pass it). */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const PARTITIONS = 4;

/** The readings in the hub's batches of 100, each batch of one partition. */
const batchesOf = (readings: number): TelemetryEnvelope[][] => hubBatches(body, readings, { partitions: PARTITIONS, batch: BATCH });

/** JSON.parse of every body, nothing else: the floor any JSON pipeline pays. */
function parseOnly(envelopes: ReadonlyArray<ReadonlyArray<{ readonly body: Uint8Array }>>): number {
  const decoder = new TextDecoder();
  let sink = 0;
  let count = 0;
  const t = performance.now();
  for (const b of envelopes) {
    for (const e of b) sink += (JSON.parse(decoder.decode(e.body)) as { Temperature: number }).Temperature;
    count += b.length;
  }
  const ms = performance.now() - t;
  if (sink === 42) console.log('');
  return rate(count, ms);
}

/** The middle item of `items` ordered by `key` (the upper of the two middles of an even count): each stage's median round or run. */
function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)]!;
}

/**
 * A measured rate beside the `JSON.parse` baseline over the same bodies, in `ROUNDS` rounds that
 * alternate the two, each from a collected heap: the ratio of each round, and the round with the
 * median ratio. One pass of each moved by up to a half between runs on a shared machine (a pass
 * that lost its core for a moment); alternating them puts both under the same moments of load.
 */
interface Paired {
  readonly perSecond: number;
  readonly parsePerSecond: number;
  readonly ratio: number;
  readonly ratios: readonly number[];
}

async function pairedWithBaseline(bodies: ReadonlyArray<ReadonlyArray<{ readonly body: Uint8Array }>>, measure: () => Promise<number>): Promise<Paired> {
  const rounds: Array<{ perSecond: number; parsePerSecond: number; ratio: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    // From a collected heap, as the stages start: otherwise the baseline paid for collecting what
    // was made before it (the 400,000 envelopes, the round before), the measured run did not.
    collect();
    const parsePerSecond = parseOnly(bodies);
    collect();
    const perSecond = await measure();
    rounds.push({ perSecond, parsePerSecond, ratio: perSecond / parsePerSecond });
  }
  const ratios = rounds.map((r) => r.ratio);
  return { ...medianBy(rounds, (r) => r.ratio), ratios };
}

async function throughputThroughIngest(mode: IngestMode, readings: number): Promise<Paired & { alerts: number }> {
  const envelopes = batchesOf(readings);
  const { ingest, alertsQueue } = ingestOf(mode, COMMIT_INTERVAL_MS);
  // Warm up on the first 10% (JIT), then measure on a fresh ingest over everything in each round.
  for (const b of envelopes.slice(0, Math.ceil(envelopes.length / 10))) await ingest.ingestBatch(b);
  void alertsQueue.close();
  let alerts = 0;
  const paired = await pairedWithBaseline(envelopes, async () => {
    const measured = ingestOf(mode, COMMIT_INTERVAL_MS);
    const t = performance.now();
    for (const b of envelopes) await measured.ingest.ingestBatch(b);
    // What the last commit left is part of the work: rows, health and state all stored.
    await measured.ingest.flush();
    const ingestMs = performance.now() - t;
    alerts = measured.alertsQueue.activeCount;
    void measured.alertsQueue.close();
    return rate(readings, ingestMs);
  });
  return { ...paired, alerts };
}

/** Messages between this thread and worker threads, counted at the `Worker` objects (whatever sends them). */
const threadMessages = { toWorkers: 0, fromWorkers: 0 };
/** The worker threads posted to, for their event loops' utilisation. */
const postedWorkers = new Set<Worker>();
const postToWorker = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
  threadMessages.toWorkers++;
  postedWorkers.add(this);
  return postToWorker.apply(this, args);
};
const emitOfWorker = Worker.prototype.emit;
Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
  if (event === 'message') threadMessages.fromWorkers++;
  return emitOfWorker.call(this, event, ...args);
};

/** CPU time of each of this process's threads so far, in microseconds, by thread id, from Linux's per-thread accounting (`/proc/self/task/<tid>/stat`, in clock ticks of 10 ms); empty elsewhere. */
function threadCpuMicros(): Map<number, number> {
  const byThread = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces, in parentheses): utime and stime are the 12th and 13th.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        byThread.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10_000);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // Not Linux.
  }
  return byThread;
}

/** The CPU time this thread has run, ms, to the nanosecond the kernel counts it (`schedstat`); undefined off Linux. */
function ownThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Where the process's CPU time went during a run, per reading: the main thread, the worker threads
 * (the threads that appeared when the workers started), and the rest (V8's platform threads, which
 * run the collector's parallel and concurrent work for every isolate, and libuv's). What the main
 * thread and the rest spend per reading bounds what a second worker can add (see docs/performance.md).
 */
interface ThreadCpu {
  readonly main: number;
  readonly workers: number;
  readonly other: number;
}

function threadCpuBetween(before: Map<number, number>, after: Map<number, number>, workerThreads: ReadonlySet<number>, count: number): ThreadCpu | undefined {
  if (after.size === 0) return undefined;
  const sums = { main: 0, workers: 0, other: 0 };
  for (const [tid, micros] of after) {
    const spent = micros - (before.get(tid) ?? 0);
    if (tid === process.pid) sums.main += spent;
    else if (workerThreads.has(tid)) sums.workers += spent;
    else sums.other += spent;
  }
  return { main: sums.main / count, workers: sums.workers / count, other: sums.other / count };
}

/**
 * Of the `workers` busiest worker threads in a pass, the least busy one's CPU time against the
 * busiest one's: where the workers have the same share of the readings (as the hub's partitions
 * here), under 1 is a thread that ran its share slower, and a pass that waited for it. Undefined
 * with fewer than two workers, or off Linux.
 */
function workerSpread(before: Map<number, number>, after: Map<number, number>, workerThreads: ReadonlySet<number>, workers: number): number | undefined {
  if (workers < 2 || after.size === 0) return undefined;
  // The set holds every thread that appeared when the workers started (libuv's pool among them): the busiest are the workers.
  const spent = [...workerThreads].map((tid) => (after.get(tid) ?? 0) - (before.get(tid) ?? 0)).sort((a, b) => b - a);
  const busiest = spent[0];
  const leastBusy = spent[workers - 1];
  return busiest === undefined || leastBusy === undefined || busiest === 0 ? undefined : leastBusy / busiest;
}

/** What one measured pass of full ingest on worker threads gave. */
interface WorkersPass {
  readonly perSecond: number;
  readonly messagesPerBatch: number;
  readonly cpuMicrosPerReading: number;
  readonly coresBusy: number;
  readonly threads: ThreadCpu | undefined;
  readonly utilisation: number[];
}

/**
 * Full ingest over `threads` worker threads (`TelemetryIngestWorkers`, what `rules.workers` runs),
 * started (and loaded) and warmed up (a full pass) before any pass is measured; `measure` then
 * hands the partitions over as an intake does: each partition's batches one after the other, the
 * partitions at once, on partitions of the round's own (`tag`), so every round starts them afresh.
 */
async function workersRun(threads: number, envelopes: readonly TelemetryEnvelope[][]) {
  const deps = ingestDepsOf('full', COMMIT_INTERVAL_MS);
  const { alertsQueue } = deps;
  const ingest = new TelemetryIngestWorkers(deps, threads);
  const threadsBefore = new Set(threadCpuMicros().keys());
  await ingest.start();
  const workerThreads = new Set([...threadCpuMicros().keys()].filter((tid) => !threadsBefore.has(tid)));
  const workers = new Set<Worker>();
  // Each worker is a fresh isolate, its code cold, where the main-thread runs follow stages that ran the same code: it
  // warms up on as many readings as it is measured on, on partitions of their own. With a tenth (a twentieth for each of
  // two workers), V8's optimising compiler was still at work in the measured run: its threads' CPU per reading halved
  // with the full pass (docs/performance.md, "Sixth round").
  await handOver(ingest, partitionBatches(relabelled(envelopes, 'warm-up'), BATCH));
  await ingest.flush();
  for (const w of postedWorkers) workers.add(w);
  postedWorkers.clear();
  const count = envelopes.reduce((n, b) => n + b.length, 0);

  const measure = async (byPartition: ReadonlyMap<string, TelemetryEnvelope[][]>): Promise<WorkersPass> => {
    const before = threadMessages.toWorkers + threadMessages.fromWorkers;
    const cpuBefore = process.cpuUsage();
    const threadsAtStart = threadCpuMicros();
    const loops = [...workers].map((w) => ({ worker: w, start: w.performance.eventLoopUtilization() }));
    const t = performance.now();
    const batchCount = await handOver(ingest, byPartition);
    await ingest.flush();
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAtEnd = threadCpuMicros();
    const utilisation = loops.map(({ worker, start }) => worker.performance.eventLoopUtilization(start).utilization);
    postedWorkers.clear();
    const messages = threadMessages.toWorkers + threadMessages.fromWorkers - before;
    return {
      perSecond: rate(count, ms),
      messagesPerBatch: messages / batchCount,
      cpuMicrosPerReading: (cpu.user + cpu.system) / count,
      coresBusy: (cpu.user + cpu.system) / 1000 / ms,
      threads: threadCpuBetween(threadsAtStart, threadsAtEnd, workerThreads, count),
      utilisation,
    };
  };
  const close = async (): Promise<void> => {
    await ingest.close();
    void alertsQueue.close();
  };
  return { measure, close };
}

/**
 * 1 worker and `threads` workers, both started and warmed up, then measured in `ROUNDS` rounds
 * that alternate them on the same readings: each round's ratio, and the round with the median
 * ratio. One pass of each moved by a factor of two between runs on a quiet machine (a pass that
 * lost a core for a moment), more than anything measured here; alternating puts both under the
 * same moments of load.
 */
async function workersAgainstOne(threads: number, envelopes: readonly TelemetryEnvelope[][]) {
  const one = await workersRun(1, envelopes);
  const many = await workersRun(threads, envelopes);
  const count = envelopes.reduce((n, b) => n + b.length, 0);
  // The same full ingest with no worker at all (`rules.workers` 0), warmed up as the workers are.
  const onMainThread = async (byPartition: ReadonlyMap<string, TelemetryEnvelope[][]>): Promise<number> => {
    const { ingest, alertsQueue } = ingestOf('full', COMMIT_INTERVAL_MS);
    const t = performance.now();
    await handOver(ingest, byPartition);
    await ingest.flush();
    const ms = performance.now() - t;
    void alertsQueue.close();
    return rate(count, ms);
  };
  await onMainThread(partitionBatches(relabelled(envelopes, 'warm-up'), BATCH));
  const rounds: Array<{ one: WorkersPass; many: WorkersPass; ratio: number; mainThread: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const byPartition = partitionBatches(relabelled(envelopes, `round-${round}`), BATCH);
    collect();
    const a = await one.measure(byPartition);
    collect();
    const b = await many.measure(byPartition);
    collect();
    const mainThread = await onMainThread(byPartition);
    rounds.push({ one: a, many: b, ratio: b.perSecond / a.perSecond, mainThread });
  }
  await one.close();
  await many.close();
  const againstMain = rounds.map((r) => r.many.perSecond / r.mainThread);
  return {
    ...medianBy(rounds, (r) => r.ratio),
    ratios: rounds.map((r) => r.ratio),
    againstMain: { ratio: medianBy(againstMain, (r) => r), ratios: againstMain },
  };
}

/**
 * Full ingest where the workers read the hub themselves (`TelemetryIngestWorkers` with a `source`,
 * what `rules.workers` runs on a SQLite or Event Hubs hub): 1 worker, `threads` workers, and the
 * same ingest on the main thread alone (`rules.workers` 0) reading it, each on a SQLite hub file of
 * its own, each kept running (subscribed, warm) through every pass. A pass writes the same readings
 * (the next stretch of event time) into the configuration's file, not measured, while the readers
 * wait at their gate; then opens the gate and measures until the last of them is handled (each
 * batch counted in memory the threads share, `HandledCounter`) and committed. `stores`: the status
 * store and rule state in the main thread's memory, as in the stage above (the workers send it
 * their commits), or those of `fieldlink up`, in SQLite files (a pair per configuration), which the
 * workers open themselves as the stream processor's do. The queues and log stay on the main thread,
 * in memory. Commits every `COMMIT_INTERVAL_MS` as the stream processor's do. Alternated in
 * `ROUNDS` rounds after `WARM_UP_PASSES` warm-up passes. `onePartitionEach`: a fourth
 * configuration in the same rounds, as many workers as the hub has partitions (where that is more
 * than `threads`).
 */
async function hubReadingWorkers(threads: number, stores: 'main-thread memory' | 'sqlite files', onePartitionEach = false) {
  const dir = mkdtempSync(join(tmpdir(), 'fieldlink-bench-hub-'));
  const count = HUB_PASS_READINGS;
  const entry = new URL('./hub-source.ts', import.meta.url).href;
  /** One configuration: its hub, status and rule state files, the hub the benchmark writes with, and the readings handled so far. */
  const open = async (name: string, workers: number) => {
    const file = join(dir, `${name}.db`);
    const db = openSqliteFile(file);
    // The stores of `fieldlink up`, the status store and rule state in SQLite files (a pair per configuration), which
    // the workers open too; or in the main thread's memory, where the workers send it their commits.
    const files = stores === 'sqlite files' ? { status: join(dir, `${name}-status.db`), ruleState: join(dir, `${name}-rulestate.db`) } : undefined;
    const statusDb = files === undefined ? undefined : await openSqliteDatabase({ file: files.status });
    const ruleStateDb = files === undefined ? undefined : openSqliteFile(files.ruleState);
    const deps = ingestDepsOf(
      'full',
      COMMIT_INTERVAL_MS,
      statusDb === undefined || ruleStateDb === undefined
        ? undefined
        : { statusStore: new SqlStatusStore(statusDb), ruleStateStore: new SqliteRuleStateStore(ruleStateDb) },
    );
    // Room for a pass and the one before it per partition: a reader never finds its next events pruned.
    const hub = new SqliteIotHub(db, { partitionCount: PARTITIONS, retentionPerPartition: count });
    const counter = new HandledCounter();
    let stop: () => Promise<void>;
    let flush: () => Promise<void>;
    let workerThreads = new Set<number>();
    if (workers === 0) {
      const ingest = new TelemetryIngest(deps);
      const subscription = await ingest.subscribe(countingIntake(hub, counter), 'bench');
      flush = () => ingest.flush();
      stop = () => subscription.close();
    } else {
      // The hub's own poll interval (50 ms), as the stream processor's workers have it: at 5 ms, the idle workers of the
      // other configurations took 0.5 us per reading each from the one measured.
      const settings: HubSourceSettings = { file, handled: counter.buffer, pollIntervalMs: 50, ...(files === undefined ? {} : { stores: files }) };
      const ingest = new TelemetryIngestWorkers(deps, workers, { source: { entry, settings } });
      const threadsBefore = new Set(threadCpuMicros().keys());
      await ingest.start();
      workerThreads = new Set([...threadCpuMicros().keys()].filter((tid) => !threadsBefore.has(tid)));
      const owned = await ingest.ownPartitions('bench');
      flush = () => ingest.flush();
      stop = async () => {
        await owned.close();
        await ingest.close();
      };
    }
    return {
      counter,
      hub,
      db,
      workers,
      workerThreads,
      /** Commits what has been handled (as the subscription does every commit interval). */
      flush: () => flush(),
      /** Resolves once `readings` more have been handled since it was called. */
      handled: (readings: number): Promise<void> => counter.until(readings),
      close: async () => {
        await stop();
        await hub.close();
        db.close();
        await statusDb?.close();
        ruleStateDb?.close();
        void deps.alertsQueue.close();
      },
    };
  };
  const configs = [await open('one', 1), await open('many', threads), await open('main', 0)];
  // As many workers as the hub has partitions, one each, where that is more than `threads`: the kernel then moves whole
  // threads between the cores, where `threads` workers hold a fixed share each (docs/performance.md, "Twenty-seventh round").
  if (onePartitionEach && PARTITIONS > threads) configs.push(await open('each', PARTITIONS));
  let eventTime = Date.now();
  /** Sends written in one turn (one transaction) while a pass is written. */
  const WRITE_TURN = 2_000;
  /** One pass of a configuration: the next stretch of readings written behind the readers' gate, then timed from its opening until all are handled. */
  const pass = async (
    config: Awaited<ReturnType<typeof open>>,
    from: number,
  ): Promise<{
    perSecond: number;
    coresBusy: number;
    threads: ThreadCpu | undefined;
    lastCommitMs: number;
    lastCommitMainMs: number | undefined;
    spread: number | undefined;
  }> => {
    const done = config.handled(count);
    // The readers wait at their gate while the pass is written, and the clock starts as it opens. Without it the workers
    // read a pass from its transaction's commit, before the clock: 6 to 24 % of a pass, more with more workers
    // (docs/performance.md, "Twenty-ninth round"). So the pass can be written in turns of `WRITE_TURN` sends, a transaction
    // each, whose garbage dies young: held all until one transaction, 245 MB of sends were promoted, then marked in passes.
    config.counter.shut();
    for (let first = 0; first < count; first += WRITE_TURN) {
      const sends: Array<Promise<void>> = [];
      for (let n = first; n < Math.min(count, first + WRITE_TURN); n++) {
        const r = body(n);
        sends.push(config.hub.sendRecorded(r.deviceId, r.body, from + Math.floor(n / 10)));
      }
      await Promise.all(sends);
    }
    const cpuBefore = process.cpuUsage();
    const threadsAtStart = threadCpuMicros();
    const t = performance.now();
    config.counter.open();
    await done;
    const handledMs = performance.now() - t;
    const mainAtHandled = ownThreadCpuMs();
    // Full ingest is done once its rows and state are stored: a pass is timed to the commit of its last readings, as
    // the stages above are. Timed to the last batch handled, the commits fell in or out of a pass by chance: with the
    // stores in SQLite files, rounds of the same configuration then moved by a factor of two.
    await config.flush();
    const ms = performance.now() - t;
    const mainAtEnd = ownThreadCpuMs();
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAtEnd = threadCpuMicros();
    const threads = threadCpuBetween(threadsAtStart, threadsAtEnd, config.workerThreads, count);
    const spread = workerSpread(threadsAtStart, threadsAtEnd, config.workerThreads, config.workers);
    return {
      perSecond: rate(count, ms),
      coresBusy: (cpu.user + cpu.system) / 1000 / ms,
      threads,
      lastCommitMs: ms - handledMs,
      lastCommitMainMs: mainAtHandled === undefined || mainAtEnd === undefined ? undefined : mainAtEnd - mainAtHandled,
      spread,
    };
  };
  const rounds: Array<{
    one: number;
    many: number;
    main: number;
    each: number | undefined;
    coresBusy: number[];
    threads: Array<ThreadCpu | undefined>;
    lastCommitMs: number[];
    lastCommitMainMs: Array<number | undefined>;
    spread: number | undefined;
    ratio: number;
  }> = [];
  for (let round = -WARM_UP_PASSES; round < ROUNDS; round++) {
    // Each round's readings come after the last round's in event time (as a hub's do), at 10,000 per second.
    const from = Math.max(Date.now(), eventTime);
    eventTime = from + Math.ceil(count / 10) + 1;
    const measured = [];
    for (const config of configs) {
      collect();
      measured.push(await pass(config, from));
    }
    const [one, many, main, each] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0] | undefined];
    // The first rounds warm every thread up, each on as many readings as a measured one.
    if (round >= 0)
      rounds.push({
        one: one.perSecond,
        many: many.perSecond,
        main: main.perSecond,
        each: each?.perSecond,
        coresBusy: measured.map((m) => m.coresBusy),
        threads: measured.map((m) => m.threads),
        lastCommitMs: measured.map((m) => m.lastCommitMs),
        lastCommitMainMs: measured.map((m) => m.lastCommitMainMs),
        spread: many.spread,
        ratio: many.perSecond / one.perSecond,
      });
  }
  for (const config of configs) await config.close();
  rmSync(dir, { recursive: true, force: true });
  const againstMain = rounds.map((r) => r.many / r.main);
  const spreads = rounds.flatMap((r) => (r.spread === undefined ? [] : [r.spread]));
  /** A partition per worker against 1 worker and against `threads` workers, per round (none where not run). */
  const eachAgainst = (key: 'one' | 'many'): number[] => rounds.flatMap((r) => (r.each === undefined ? [] : [r.each / r[key]]));
  const [eachOne, eachMany] = [eachAgainst('one'), eachAgainst('many')];
  return {
    count,
    ...medianBy(rounds, (r) => r.ratio),
    ratios: rounds.map((r) => r.ratio),
    againstMain: { ratio: medianBy(againstMain, (r) => r), ratios: againstMain },
    /** Each configuration's last commit of a pass, ms: the median of the rounds. */
    lastCommitMs: configs.map((_, i) => medianBy(rounds, (r) => r.lastCommitMs[i]!).lastCommitMs[i]!),
    /** The main thread's CPU time in each configuration's last commit of a pass, ms: the median and the highest of the rounds (none off Linux). */
    lastCommitMain: configs.map((_, i) => {
      const spent = rounds.flatMap((r) => (r.lastCommitMainMs[i] === undefined ? [] : [r.lastCommitMainMs[i]!]));
      return spent.length === 0 ? undefined : { median: medianBy(spent, (x) => x), highest: Math.max(...spent) };
    }),
    /** The workers' CPU in a pass, the least busy against the busiest: the median of the rounds and the lowest (none off Linux). */
    spread: spreads.length === 0 ? undefined : { median: medianBy(spreads, (x) => x), lowest: Math.min(...spreads) },
    /** A partition per worker (`PARTITIONS` workers), where run: the median of its rounds' rates, and its ratios to 1 worker and to `threads` (medians of the rounds). */
    each:
      eachOne.length === 0
        ? undefined
        : {
            perSecond: medianBy(
              rounds.flatMap((r) => (r.each === undefined ? [] : [r.each])),
              (x) => x,
            ),
            againstOne: { ratio: medianBy(eachOne, (x) => x), ratios: eachOne },
            againstMany: { ratio: medianBy(eachMany, (x) => x), ratios: eachMany },
          },
  };
}

/** Two threads on this machine against one, for one kind of work (`machineCeiling`). */
interface MachinePair {
  /** 2 threads' rounds together / 1 thread's, the median of the rounds. */
  readonly ratio: number;
  /** The slower of the 2 threads against the faster: the median of the rounds, and the lowest. */
  readonly slower: number;
  readonly slowest: number;
}

/**
 * What this machine gives two threads at all, beside the ceiling above, which runs the ingest:
 * `src/machine-threads.mjs` on 1 thread and on 2 at once for 700 ms each, alternated in twice
 * `ROUNDS` rounds, for an arithmetic loop that allocates nothing and a loop that parses readings'
 * JSON and keeps the last of them (allocating as the ingest does). Where the cores are there but
 * the memory behind them (caches, bandwidth) is shared with other work, the first reaches about 2
 * and the second less, one of its two threads running slower than the other
 * (docs/performance.md, "Twenty-fifth round").
 */
async function machineCeiling(): Promise<{ arithmetic: MachinePair; allocating: MachinePair }> {
  const entry = new URL('./machine-threads.mjs', import.meta.url);
  const run = (kind: string, threads: number): Promise<number[]> =>
    Promise.all(
      Array.from(
        { length: threads },
        () =>
          new Promise<number>((resolve, reject) => {
            const worker = new Worker(entry, { workerData: { kind, ms: 700 } });
            worker.once('message', (rounds: number) => resolve(rounds));
            worker.once('error', reject);
            worker.once('exit', (code) => reject(new Error(`a machine ceiling thread exited (code ${code}) before it answered`)));
          }),
      ),
    );
  const measure = async (kind: string): Promise<MachinePair> => {
    const rounds: Array<{ ratio: number; slower: number }> = [];
    for (let round = 0; round < 2 * ROUNDS; round++) {
      const [alone] = await run(kind, 1);
      const pair = await run(kind, 2);
      rounds.push({ ratio: (pair[0]! + pair[1]!) / alone!, slower: Math.min(...pair) / Math.max(...pair) });
    }
    return {
      ratio: medianBy(rounds, (r) => r.ratio).ratio,
      slower: medianBy(rounds, (r) => r.slower).slower,
      slowest: Math.min(...rounds.map((r) => r.slower)),
    };
  };
  return { arithmetic: await measure('arithmetic'), allocating: await measure('allocating') };
}

/**
 * The ceiling of the ratio above on this machine: the same full ingest on 1 thread and on
 * `threads` threads that share nothing with the main thread (`independent-ingest.ts`: each makes
 * its partitions' readings and keeps its own in-memory stores; no port on the main thread, no
 * message per batch), warmed up by `WARM_UP_PASSES` passes each, then alternated in `ROUNDS`
 * rounds as the workers are. Worker threads can pass it only by what the main thread takes off them (the stores' work):
 * where it stays well under 1.7, so does any way of running partitions on threads
 * (docs/performance.md, "Thirteenth round"). Neither these threads nor the ingest workers are
 * made to collect their heaps between passes ("Twenty-first round").
 */
async function independentCeiling(threads: number) {
  // Worker threads of Node 20 do not take the parent's `--import tsx`: the ingest workers' starter
  // registers tsx in the thread and loads the module named by `workerData.entry`.
  const starter = new URL('../../../libs/flows/src/ingest/telemetry-ingest-worker-sources.mjs', import.meta.url);
  const entry = new URL('./independent-ingest.ts', import.meta.url).href;
  const start = (own: number[]): Worker => {
    const settings: IndependentIngestSettings = {
      devices: DEVICES,
      alertShare: ALERT_SHARE,
      readings: THROUGHPUT_READINGS,
      partitions: PARTITIONS,
      batch: BATCH,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      own,
    };
    return new Worker(starter, { workerData: { entry, settings } });
  };
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
  const one = [start(partitions)];
  const many = Array.from({ length: threads }, (_, i) => start(partitions.filter((p) => p % threads === i)));
  const told = (group: readonly Worker[], message: string): Promise<unknown[]> =>
    Promise.all(
      group.map(
        (worker) =>
          new Promise<unknown>((resolve, reject) => {
            const failed = (error: Error): void => reject(new Error(`an independent ingest thread failed before it answered: ${error.message}`));
            const exited = (code: number): void => reject(new Error(`an independent ingest thread exited (code ${code}) before it answered`));
            worker.once('error', failed);
            worker.once('exit', exited);
            worker.once('message', (answer) => {
              worker.off('error', failed);
              worker.off('exit', exited);
              resolve(answer);
            });
            // Past the count of the ingest workers' messages (`threadMessages`), which is theirs only.
            postToWorker.call(worker, message);
          }),
      ),
    );
  /** One pass of a group: readings/s from the word go to the last answer, and the cores the process kept busy meanwhile. */
  const pass = async (group: readonly Worker[]): Promise<{ perSecond: number; coresBusy: number }> => {
    await told(group, 'prepare');
    const t = performance.now();
    const cpuBefore = process.cpuUsage();
    const answers = (await told(group, 'go')) as IndependentPass[];
    const cpu = process.cpuUsage(cpuBefore);
    const ms = performance.now() - t;
    return {
      perSecond: rate(
        answers.reduce((n, a) => n + a.count, 0),
        ms,
      ),
      coresBusy: (cpu.user + cpu.system) / 1000 / ms,
    };
  };
  try {
    for (let warm = 0; warm < WARM_UP_PASSES; warm++) {
      await pass(one);
      await pass(many);
    }
    const rounds: Array<{ one: number; many: number; ratio: number; coresBusy: [number, number] }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = await pass(one);
      const b = await pass(many);
      rounds.push({ one: a.perSecond, many: b.perSecond, ratio: b.perSecond / a.perSecond, coresBusy: [a.coresBusy, b.coresBusy] });
    }
    return { ...medianBy(rounds, (r) => r.ratio), ratios: rounds.map((r) => r.ratio) };
  } finally {
    await Promise.all([...one, ...many].map((worker) => worker.terminate()));
  }
}

/** Hub send → rules ingest: warmed up (JIT) on a tenth of the readings through a hub of its own first, as the direct runs are. */
async function throughputThroughHub(): Promise<Paired> {
  const count = Math.min(THROUGHPUT_READINGS, 200_000);
  const bodies = Array.from({ length: count }, (_, n) => body(n));
  await sendThroughHub(bodies.slice(0, Math.ceil(count / 10)));
  return pairedWithBaseline([bodies], () => sendThroughHub(bodies));
}

async function sendThroughHub(bodies: ReadonlyArray<{ deviceId: string; body: Uint8Array }>): Promise<number> {
  const hub = new InMemoryIotHub({ partitionCount: 4 });
  const { ingest } = ingestOf('rules', COMMIT_INTERVAL_MS);
  const count = bodies.length;
  let handled = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscription = await hub.subscribe('rules', async (batch, partition) => {
    await ingest.ingestBatch(batch, partition);
    handled += batch.length;
    if (handled >= count) done();
  });
  const t = performance.now();
  for (const b of bodies) await hub.send(b.deviceId, b.body);
  await finished;
  const ms = performance.now() - t;
  await subscription.close();
  hub.cloudToDevice.close();
  return rate(count, ms);
}

/** Times when each alert's record was stored, by alert token. */
class TimedCrm {
  readonly storedAt = new Map<string, number>();
  readonly crm: CrmGatewayPort;
  constructor() {
    const inner = new InMemoryCrm(randomIds);
    this.crm = new Proxy(inner, {
      get: (target, property, receiver) => {
        if (property === 'createIoTAlert') {
          return async (alert: NewIoTAlert) => {
            const created = await target.createIoTAlert(alert);
            this.storedAt.set(alert.alertToken, performance.now());
            return created;
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/**
 * What stopped the process while a latency run sent (what lands on the tail): its garbage
 * collections (the longest pause, and how many were full mark-compacts) and the event loop's
 * delay (the 99th percentile and the longest, sampled every 1 ms).
 */
class Stalls {
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });
  private readonly observer: PerformanceObserver;
  longestGcMs = 0;
  majorGcs = 0;
  /** Pauses longer than the p99 target: each one holds up every reading in flight past it. */
  gcPausesOver3Ms = 0;
  gcPauseMs = 0;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.longestGcMs = Math.max(this.longestGcMs, entry.duration);
        this.gcPauseMs += entry.duration;
        if (entry.duration > 3) this.gcPausesOver3Ms++;
        if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.majorGcs++;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.loop.enable();
  }

  stop(): { longestGcMs: number; majorGcs: number; gcPausesOver3Ms: number; gcPauseMs: number; loopDelayP99Ms: number; loopDelayMaxMs: number } {
    this.loop.disable();
    this.observer.disconnect();
    return {
      longestGcMs: this.longestGcMs,
      majorGcs: this.majorGcs,
      gcPausesOver3Ms: this.gcPausesOver3Ms,
      gcPauseMs: this.gcPauseMs,
      loopDelayP99Ms: this.loop.percentile(99) / 1e6,
      loopDelayMaxMs: this.loop.max / 1e6,
    };
  }
}

/** One window of a latency run: what its readings' alerts took, and what stopped the process meanwhile. */
interface LatencyWindow {
  readonly sent: number;
  readonly alerts: number;
  readonly recorded: number;
  readonly achieved: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Alerts recorded more than 3 ms after their reading fell due. */
  readonly over3Ms: number;
  readonly stalls: ReturnType<Stalls['stop']>;
}

/**
 * One pipeline (hub, ingest, alerts queue, inbound alerts, CRM) sending R readings/s for `windows`
 * windows of `SECONDS` each: the figures of each window, from the alerts whose readings fell due in
 * it, but for those of the first `uncounted` readings (the pipeline's start: JIT, every device first
 * seen). A run is one window on a fresh pipeline with its first second uncounted; a pipeline kept up
 * for several windows shows what a stream processor that runs for hours at that rate does with time
 * (docs/performance.md, "Tenth round").
 */
async function latencyUnderLoad(mode: IngestMode, windows: number, uncounted: number): Promise<LatencyWindow[]> {
  const hub = new InMemoryIotHub({ partitionCount: 4 });
  const { ingest, alertsQueue } = ingestOf(mode, COMMIT_INTERVAL_MS);
  const timed = new TimedCrm();
  const inbound = new InboundAlerts({ crm: timed.crm, log: silentLog });
  const processor = new QueueProcessor(alertsQueue, (m) => inbound.handle(m), silentLog, { maxMessages: 64, maxWaitMs: 1_000 });
  const subscription = await ingest.subscribe(hub, 'rules');
  processor.start();

  const perWindow = Math.round(RATE * SECONDS);
  const total = perWindow * windows;
  /** Each alert's reading: when it was due to be sent, by window. */
  const dueAt = Array.from({ length: windows }, () => new Map<string, number>());
  const stalls: Array<ReturnType<Stalls['stop']>> = [];
  const windowEnds: number[] = [];
  let watching = new Stalls();
  const start = performance.now();
  let n = 0;
  // Sends every reading whose time has come (reading n falls due at start + n / RATE, so by a time
  // t the readings 0 to floor((t - start) * RATE) are due), then lets the event loop turn once
  // (`setImmediate`): no timer's granularity in the measure. A function of its own, not an awaited
  // promise per turn: the turns are many more than the readings, and what each allocates is
  // collected in the pauses that make the tail.
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
      for (; n < due; n++) {
        const b = body(n);
        if (b.alert && n >= uncounted) dueAt[Math.floor(n / perWindow)]!.set(b.token, start + (n * 1000) / RATE);
        void hub.send(b.deviceId, b.body);
        if ((n + 1) % perWindow === 0) {
          stalls.push(watching.stop());
          windowEnds.push(performance.now());
          if (n + 1 < total) watching = new Stalls();
        }
      }
      if (n < total) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  const until = performance.now() + 5_000;
  const waiting = (): boolean => dueAt.some((w) => [...w.keys()].some((k) => !timed.storedAt.has(k)));
  while (waiting() && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  await subscription.close();
  await processor.stop();
  await alertsQueue.close();
  hub.cloudToDevice.close();

  return dueAt.map((due, w) => {
    const latencies = [...due].flatMap(([token, t0]) => {
      const t1 = timed.storedAt.get(token);
      return t1 === undefined ? [] : [t1 - t0];
    });
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
    const windowStart = w === 0 ? start : windowEnds[w - 1]!;
    return {
      sent: perWindow,
      alerts: due.size,
      recorded: latencies.length,
      achieved: rate(perWindow, windowEnds[w]! - windowStart),
      p50: pct(50),
      p99: pct(99),
      max: latencies.at(-1) ?? Number.NaN,
      over3Ms: latencies.filter((l) => l > 3).length,
      stalls: stalls[w]!,
    };
  });
}

/** Each stage starts from a collected heap, so the garbage of the one before is not collected (and paid for) inside it. */
const stage = async (name: string): Promise<void> => {
  collect();
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.stderr.write(`${name}…\n`);
};
const rows: Array<[string, string, string]> = [];
const loadAtStart = loadavg();
let alertsInRulesRun = 0;
if (ONLY === 'throughput') {
  await stage('throughput through ingest (rules)');
  const throughput = await throughputThroughIngest('rules', THROUGHPUT_READINGS);
  await stage('throughput through ingest (full)');
  const throughputFull = await throughputThroughIngest('full', THROUGHPUT_READINGS);
  await stage('through the hub');
  const viaHub = await throughputThroughHub();
  alertsInRulesRun = throughput.alerts;
  const eachRound = (p: Paired): string => `; rounds ${p.ratios.map((r) => r.toFixed(3)).join(', ')}`;
  rows.push(
    [`rules ingest, readings/s (batches of 100, one partition each, 4 partitions, ${fmt(DEVICES)} devices)`, fmt(throughput.perSecond), ''],
    ['baseline: JSON.parse only, readings/s (same round)', fmt(throughput.parsePerSecond), ''],
    [`rules ingest / JSON.parse (median of ${ROUNDS}${eachRound(throughput)})`, throughput.ratio.toFixed(3), '>= 0.7'],
    [`full ingest (+ aggregates, device health, state; commit every ${fmt(COMMIT_INTERVAL_MS)} ms), readings/s`, fmt(throughputFull.perSecond), ''],
    [`full ingest / JSON.parse (median of ${ROUNDS}${eachRound(throughputFull)})`, throughputFull.ratio.toFixed(3), '>= 0.5'],
    ['full ingest / rules ingest (median rounds)', (throughputFull.perSecond / throughput.perSecond).toFixed(3), ''],
    ['hub send -> rules ingest, readings/s', fmt(viaHub.perSecond), ''],
    [`hub send -> rules ingest / JSON.parse (median of ${ROUNDS}${eachRound(viaHub)})`, viaHub.ratio.toFixed(3), '>= 0.4'],
  );
}
if (ONLY === 'workers') {
  await stage(`full ingest on 1 and on ${WORKERS} workers and on the main thread alone, ${ROUNDS} rounds`);
  // The readings go with the call: held here, they stayed in this thread's heap (200 MB) through the stages below, whose
  // passes then ran its collector's marking of them (docs/performance.md, "Twenty-eighth round").
  const { one, many, ratio, ratios, mainThread, againstMain } = await workersAgainstOne(WORKERS, batchesOf(THROUGHPUT_READINGS));
  await stage(
    `full ingest, the workers reading a SQLite hub themselves: 1 and ${WORKERS} workers, the main thread alone${PARTITIONS > WORKERS ? `, and ${PARTITIONS} workers, one partition each` : ''}; ${ROUNDS} rounds`,
  );
  const reading = await hubReadingWorkers(WORKERS, 'main-thread memory', true);
  /** The configurations of the rows below, in their order: `reading`'s per-configuration figures follow it. */
  const readingConfigs = `1 worker, ${WORKERS} workers, main thread alone${reading.each === undefined ? '' : `, ${PARTITIONS} workers`}`;
  await stage(`the same with the stores of fieldlink up, SQLite files the workers open themselves, ${ROUNDS} rounds`);
  const readingSqlite = await hubReadingWorkers(WORKERS, 'sqlite files');
  await stage(`the ceiling: full ingest on 1 and on ${WORKERS} threads that share nothing, ${ROUNDS} rounds`);
  const ceiling = await independentCeiling(WORKERS);
  await stage(`what the machine gives 2 threads: an arithmetic loop and an allocating one on 1 and on 2 threads, ${2 * ROUNDS} rounds`);
  const machine = await machineCeiling();
  rows.push(
    [
      `full ingest, workers reading the hub themselves (a SQLite hub file, ${fmt(reading.count)} readings a pass, timed to their commit; the stores in the main thread's memory): ${readingConfigs}, readings/s (the median round)`,
      `${fmt(reading.one)}, ${fmt(reading.many)}, ${fmt(reading.main)}${reading.each === undefined ? '' : `, ${fmt(reading.each.perSecond)}`}`,
      '',
    ],
    [
      `${WORKERS} workers reading the hub / 1 worker (${cpus().length} cores; median of ${ROUNDS}; rounds ${reading.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      reading.ratio.toFixed(3),
      WORKERS === 2 ? '>= 1.7' : '',
    ],
    [
      `${WORKERS} workers reading the hub / the main thread alone reading it (median of ${ROUNDS}; rounds ${reading.againstMain.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      reading.againstMain.ratio.toFixed(3),
      '',
    ],
    [`cores kept busy reading the hub (CPU time / wall time; ${readingConfigs}; the median round)`, reading.coresBusy.map((c) => c.toFixed(2)).join(', '), ''],
    [
      `reading the hub: CPU time per reading by thread, us: main, workers, other; ${readingConfigs.replaceAll(', ', ' | ')} (Linux only)`,
      reading.threads.map((r) => (r === undefined ? 'n/a' : `${r.main.toFixed(2)}, ${r.workers.toFixed(2)}, ${r.other.toFixed(2)}`)).join(' | '),
      '',
    ],
    [
      `reading the hub: a pass's last commit, from its last reading handled to its rows and state stored, ms (${readingConfigs}; median of ${ROUNDS})`,
      reading.lastCommitMs.map((ms) => ms.toFixed(0)).join(', '),
      '',
    ],
    [
      `reading the hub: the main thread's CPU time in a pass's last commit, ms: median, highest (${readingConfigs.replaceAll(', ', ' | ')}; of ${ROUNDS}; Linux only)`,
      reading.lastCommitMain.map((m) => (m === undefined ? 'n/a' : `${m.median.toFixed(1)}, ${m.highest.toFixed(1)}`)).join(' | '),
      '',
    ],
    [
      `reading the hub: the ${WORKERS} workers' CPU time in a pass of equal shares, the least busy worker's / the busiest's (median of ${ROUNDS}, lowest; Linux only)`,
      reading.spread === undefined ? 'n/a' : `${reading.spread.median.toFixed(2)}, ${reading.spread.lowest.toFixed(2)}`,
      '',
    ],
    ...(reading.each === undefined
      ? []
      : ([
          [
            `reading the hub: ${PARTITIONS} workers, one partition each (the kernel moves whole threads between the cores) / 1 worker (median of ${ROUNDS}; rounds ${reading.each.againstOne.ratios.map((r) => r.toFixed(3)).join(', ')})`,
            reading.each.againstOne.ratio.toFixed(3),
            '',
          ],
          [
            `reading the hub: ${PARTITIONS} workers, one partition each / ${WORKERS} workers (median of ${ROUNDS}; rounds ${reading.each.againstMany.ratios.map((r) => r.toFixed(3)).join(', ')})`,
            reading.each.againstMany.ratio.toFixed(3),
            '',
          ],
        ] satisfies Array<[string, string, string]>)),
    [
      `the same with the status store and rule state in SQLite files (fieldlink up's), which the workers open themselves: 1 worker, ${WORKERS} workers, main thread alone, readings/s (the median round)`,
      `${fmt(readingSqlite.one)}, ${fmt(readingSqlite.many)}, ${fmt(readingSqlite.main)}`,
      '',
    ],
    [
      `stores in SQLite files: ${WORKERS} workers / 1 worker (median of ${ROUNDS}; rounds ${readingSqlite.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      readingSqlite.ratio.toFixed(3),
      '',
    ],
    [
      `stores in SQLite files: ${WORKERS} workers / the main thread alone (median of ${ROUNDS}; rounds ${readingSqlite.againstMain.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      readingSqlite.againstMain.ratio.toFixed(3),
      '',
    ],
    [
      `stores in SQLite files: CPU time per reading by thread, us: main, workers, other; 1 worker | ${WORKERS} workers | main thread alone (Linux only)`,
      readingSqlite.threads.map((r) => (r === undefined ? 'n/a' : `${r.main.toFixed(2)}, ${r.workers.toFixed(2)}, ${r.other.toFixed(2)}`)).join(' | '),
      '',
    ],
    [
      `full ingest handed over by the main thread (the in-memory hub) on 1 worker thread (4 partitions at once), readings/s (the median round)`,
      fmt(one.perSecond),
      '',
    ],
    [`full ingest handed over on ${WORKERS} worker threads, readings/s (the same round)`, fmt(many.perSecond), ''],
    [`handed over: ${WORKERS} workers / 1 worker (median of ${ROUNDS}; rounds ${ratios.map((r) => r.toFixed(3)).join(', ')})`, ratio.toFixed(3), ''],
    [`full ingest on the main thread alone, no worker (rules.workers 0), readings/s (the same round)`, fmt(mainThread), ''],
    [
      `${WORKERS} workers / the main thread alone (median of ${ROUNDS}; rounds ${againstMain.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      againstMain.ratio.toFixed(3),
      '',
    ],
    [
      `messages between threads per batch of ${BATCH} (both ways, commits included; 1 worker, ${WORKERS} workers)`,
      `${one.messagesPerBatch.toFixed(2)}, ${many.messagesPerBatch.toFixed(2)}`,
      '',
    ],
    [
      `CPU time of the process (all threads) per reading, us (1 worker, ${WORKERS} workers)`,
      `${one.cpuMicrosPerReading.toFixed(2)}, ${many.cpuMicrosPerReading.toFixed(2)}`,
      '',
    ],
    [
      `CPU time per reading by thread, us: main, workers, other (V8's collector helpers, libuv); 1 worker | ${WORKERS} workers (Linux only)`,
      [one, many]
        .map((r) => (r.threads === undefined ? 'n/a' : `${r.threads.main.toFixed(2)}, ${r.threads.workers.toFixed(2)}, ${r.threads.other.toFixed(2)}`))
        .join(' | '),
      '',
    ],
    [
      `worker threads' event loop utilisation (share of the run not waiting for a message; 1 worker | ${WORKERS} workers)`,
      [one, many].map((r) => r.utilisation.map((u) => u.toFixed(2)).join(', ')).join(' | '),
      '',
    ],
    [
      `cores kept busy (CPU time / wall time; 1 worker, ${WORKERS} workers); ${cpus().length} cores / the 1-worker figure bounds the ratio`,
      `${one.coresBusy.toFixed(2)}, ${many.coresBusy.toFixed(2)}; bound ${(cpus().length / one.coresBusy).toFixed(2)}`,
      '',
    ],
    [
      `ceiling: the same full ingest on 1 and on ${WORKERS} threads that share nothing with the main thread (each its own readings and stores), readings/s (the median round)`,
      `${fmt(ceiling.one)}, ${fmt(ceiling.many)}`,
      '',
    ],
    [
      `ceiling: ${WORKERS} threads / 1 thread (median of ${ROUNDS}; rounds ${ceiling.ratios.map((r) => r.toFixed(3)).join(', ')})`,
      ceiling.ratio.toFixed(3),
      '',
    ],
    [
      `ceiling: cores kept busy (CPU time / wall time; 1 thread, ${WORKERS} threads; the median round)`,
      ceiling.coresBusy.map((c) => c.toFixed(2)).join(', '),
      '',
    ],
    [
      `${WORKERS} workers / 1 worker, as a share of that ceiling (reading the hub themselves, handed over)`,
      `${(reading.ratio / ceiling.ratio).toFixed(2)}, ${(ratio / ceiling.ratio).toFixed(2)}`,
      '',
    ],
    [
      `the machine: 2 threads / 1 of an arithmetic loop (allocates nothing); of parsing readings' JSON and keeping them (allocates as the ingest does) (medians of ${2 * ROUNDS} rounds of 700 ms)`,
      `${machine.arithmetic.ratio.toFixed(3)}; ${machine.allocating.ratio.toFixed(3)}`,
      '',
    ],
    [
      `the machine: the slower of the 2 threads against the faster, arithmetic; allocating (median, lowest of the rounds)`,
      `${machine.arithmetic.slower.toFixed(2)}, ${machine.arithmetic.slowest.toFixed(2)}; ${machine.allocating.slower.toFixed(2)}, ${machine.allocating.slowest.toFixed(2)}`,
      '',
    ],
  );
}
if (ONLY === 'latency') {
  const firstSecond = Math.round(RATE * Math.min(1, SECONDS / 5));
  const run = async (mode: IngestMode): Promise<LatencyWindow> => (await latencyUnderLoad(mode, 1, firstSecond))[0]!;
  await stage('latency under paced load (rules)');
  const latency = await run('rules');
  // A full run first that is not counted: the rules run leaves the aggregates, health and commit code cold, and the
  // first full run's p99 was the highest of its set in seven of eight sets of runs (docs/performance.md, "Eighth round").
  await stage('latency under paced load (full), a warm-up run not counted');
  const warmUpRun = await run('full');
  const fullRuns: LatencyWindow[] = [];
  for (let r = 0; r < LATENCY_RUNS; r++) {
    await stage(`latency under paced load (full), run ${r + 1} of ${LATENCY_RUNS}`);
    fullRuns.push(await run('full'));
  }
  const keptUp: LatencyWindow[] = [];
  if (KEPT_UP_WINDOWS > 0) {
    await stage(`latency under paced load (full), one pipeline kept up for ${KEPT_UP_WINDOWS} windows of ${SECONDS} s`);
    keptUp.push(...(await latencyUnderLoad('full', KEPT_UP_WINDOWS, firstSecond)));
  }
  const latencyRows = (label: string, l: typeof latency): Array<[string, string, string]> => [
    [`${label}: readings sent (${fmt(RATE)}/s for ${SECONDS} s), achieved /s`, `${fmt(l.sent)}, ${fmt(l.achieved)}`, ''],
    [`${label}: alert records within 5 s of the end (${ALERT_SHARE * 100}% of readings, after warm-up)`, `${fmt(l.recorded)} of ${fmt(l.alerts)}`, ''],
    [`${label}: reading -> alert record latency p50 / p99 / max, ms`, `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)} / ${l.max.toFixed(2)}`, 'p99 < 3'],
    [
      `${label}: while sending, longest GC pause ms, full GCs; event loop delay p99 / max, ms`,
      `${l.stalls.longestGcMs.toFixed(2)}, ${l.stalls.majorGcs}; ${l.stalls.loopDelayP99Ms.toFixed(2)} / ${l.stalls.loopDelayMaxMs.toFixed(2)}`,
      '',
    ],
  ];
  rows.push(...latencyRows('rules pipeline', latency));
  const median = medianBy(fullRuns, (run) => run.p99);
  rows.push(...latencyRows(`full pipeline (the run of median p99)`, median));
  rows.push(
    [
      `full pipeline: p99 of the warm-up run (not counted), then of each of ${LATENCY_RUNS} runs, ms`,
      `${warmUpRun.p99.toFixed(2)}; ${fullRuns.map((l) => l.p99.toFixed(2)).join(' ')}`,
      '',
    ],
    [`full pipeline: p50 of each run, ms`, fullRuns.map((l) => l.p50.toFixed(2)).join(' '), ''],
    // A run's p99 is over 3 ms once 1 % of its alerts are; the sum tells two sets apart where the count of runs may not.
    [
      `full pipeline: alerts over 3 ms of each run (of ${fmt(median.alerts)}); of all ${LATENCY_RUNS} runs`,
      `${fullRuns.map((l) => String(l.over3Ms)).join(' ')}; ${fullRuns.reduce((sum, l) => sum + l.over3Ms, 0)}`,
      '',
    ],
    [`full pipeline: longest GC pause of each run, ms`, fullRuns.map((l) => l.stalls.longestGcMs.toFixed(1)).join(' '), ''],
    [
      `full pipeline: GC pauses over 3 ms, and all GC pauses in ms, of each run`,
      fullRuns.map((l) => `${l.stalls.gcPausesOver3Ms}/${l.stalls.gcPauseMs.toFixed(0)}`).join(' '),
      '',
    ],
    [`full pipeline: longest event loop delay of each run, ms`, fullRuns.map((l) => l.stalls.loopDelayMaxMs.toFixed(1)).join(' '), ''],
    [`full pipeline: mark-compacts (full collections) of each run`, fullRuns.map((l) => String(l.stalls.majorGcs)).join(' '), ''],
    [
      'full pipeline: runs with p99 < 3 ms',
      `${fullRuns.filter((l) => l.p99 < 3).length} of ${LATENCY_RUNS}`,
      `>= ${Math.ceil(LATENCY_RUNS * 0.9)} of ${LATENCY_RUNS}`,
    ],
  );
  if (keptUp.length > 0) {
    const each = (f: (w: LatencyWindow) => string): string => keptUp.map(f).join(' ');
    rows.push(
      [`full pipeline kept up: p99 of each ${SECONDS} s window in turn (the first second uncounted), ms`, each((w) => w.p99.toFixed(2)), ''],
      [`full pipeline kept up: alerts over 3 ms of each window (of ${fmt(keptUp.at(-1)!.alerts)})`, each((w) => String(w.over3Ms)), ''],
      [
        'full pipeline kept up: GC pauses over 3 ms / mark-compacts / longest GC pause, ms / longest event loop delay, ms, of each window',
        each((w) => `${w.stalls.gcPausesOver3Ms}/${w.stalls.majorGcs}/${w.stalls.longestGcMs.toFixed(0)}/${w.stalls.loopDelayMaxMs.toFixed(0)}`),
        '',
      ],
    );
  }
}
rows.push([
  'load average (1, 5, 15 min) at the start; at the end',
  `${loadAtStart.map((l) => l.toFixed(2)).join(' ')}; ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
  '',
]);

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
// The flags that size the heap and V8's threads, which move the latency's tail (docs/performance.md, "Nineteenth round")
// and, with workers, the ratio across cores ("Thirty-first round").
const heapFlags = process.execArgv.filter(
  (a) => /^--(max-semi-space-size|initial-old-space-size|max-old-space-size|v8-pool-size)=/.test(a) || a === SINGLE_THREADED_GC,
);
console.log(
  `Fieldlink in-process pipeline (node ${process.version}${heapFlags.length === 0 ? '' : ` ${heapFlags.join(' ')}`}${alertsInRulesRun === 0 ? '' : `, ${fmt(alertsInRulesRun)} alerts in the rules throughput run`})\n`,
);
console.log(`${'measure'.padEnd(w0)}  ${'figure'.padStart(w1)}  target`);
console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ------`);
for (const [m, f, t] of rows) console.log(`${m.padEnd(w0)}  ${f.padStart(w1)}  ${t}`);
