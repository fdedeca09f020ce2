// Flows 3–6 (ingest): telemetry ingest spread over worker threads, each partition on one thread.
import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { ThresholdAlert } from '@fieldlink/domain';
import {
  lookUpReference,
  type ClockPort,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscription,
} from '@fieldlink/ports';
import { systemClock } from '../shared/system-sources.js';
import { sleep } from '../shared/timers.js';
import { groupByPartition, storeBatchEffects, subscribeCommitting, type BatchOutcome, type TelemetryIngestDeps } from './telemetry-ingest.js';
import {
  WORKER_PORT_METHODS,
  batchReference,
  loadJsonOf,
  packEnvelopes,
  receivedError,
  sendableError,
  unpackAggregates,
  unpackHealth,
  upsertHealthRows,
  type Answer,
  type FromWorker,
  type IngestMethod,
  type PackedAggregates,
  type PackedHealth,
  type PortCall,
  type SentEffects,
  type TelemetrySourceModule,
  type ToWorker,
  type WorkerIngestSettings,
} from './telemetry-ingest-worker-protocol.js';

/**
 * Semi-space of each ingest worker's young generation, in MB, unless told otherwise: V8's own
 * default, set explicitly so that a process started with another `--max-semi-space-size` does not
 * pass it on (the stream processor's scripts give the main thread 16 too, for its pauses). Full
 * ingest on workers spent about 15 % more CPU per reading with 64 than with 16 in the pipeline
 * benchmark (docs/performance.md, "Fourth round"). The young generation is three semi-spaces.
 */
export const DEFAULT_INGEST_SEMI_SPACE_MB = 16;

/** Node's flag that has V8 collect each heap on its own thread only, with no helper threads (see `collectorAdvice`). */
export const SINGLE_THREADED_GC = '--single-threaded-gc';

/**
 * What to tell whoever started the process when its ingest workers are as many as the machine's
 * cores and V8 collects their heaps in parallel (node's default): a scavenge hands part of its work
 * to V8's helper threads and waits for it, and with every core held by a worker the helpers wait
 * for one, so the worker idles. On two cores, two workers ran at 1.20 to 1.56 times one worker
 * without the flag, and at 1.66 to 1.79 with it, the most they ingested in all (docs/performance.md,
 * "Thirty-first round"). Undefined where a core is left or node was given the flag.
 */
export function collectorAdvice(workers: number, cores: number, execArgv: readonly string[]): string | undefined {
  if (workers < cores || execArgv.includes(SINGLE_THREADED_GC)) return undefined;
  return `${workers} ingest worker threads on ${cores} cores: start node with ${SINGLE_THREADED_GC} (on its command line; NODE_OPTIONS does not take it) so that each worker collects its own heap rather than wait for V8's helper threads to get a core`;
}

export interface TelemetryIngestWorkersOptions {
  /** Each worker's semi-space in MB, 1 to 1,024 (its `resourceLimits.maxYoungGenerationSizeMb` is three of them); `DEFAULT_INGEST_SEMI_SPACE_MB` by default. */
  readonly semiSpaceMb?: number;
  /**
   * Where the workers read their partitions themselves: each opens this source in its thread and
   * subscribes to its share of the hub's partitions (worker i of n: the partitions at i, i + n…),
   * so nothing per reading passes through this thread; it keeps the queues, the log, and the
   * stores the source does not open itself (`TelemetrySource.statusStore`, `ruleStateStore`). Then
   * `subscribe` ignores the intake it is given (the source reads the same stream), and the
   * workers' ingest runs on the system clock. Without it, this thread reads the intake and hands
   * each batch to its partition's worker.
   */
  readonly source?: TelemetrySourceModule;
  /** How long after a worker that owns partitions died its replacement starts: 1 s by default. */
  readonly restartDelayMs?: number;
}

/**
 * `TelemetryIngest` across cores: each partition is ingested by one of `workers` worker threads
 * and stays there for the life of this object. Each worker runs a `TelemetryIngest` of its own, the
 * same code with the same state, commit and checkpoint semantics, over the ports given here
 * (stores, queues, log): they stay on this thread and the workers ask them through messages (the
 * calls of one turn of a worker's loop in one message).
 *
 * With a `source`, the workers read the hub themselves (`ownPartitions`): each its share of the
 * partitions, with its own reference data, so that nothing per reading passes through this thread;
 * where the source also opens the status store and rule state (files or services), the workers
 * commit there and no commit passes through it either.
 * Without one, this thread reads the intake and hands each batch, with its reference data, to its
 * partition's worker, given in turn as partitions are first seen (four partitions on two workers:
 * two each); this thread then packs and posts every batch.
 *
 * The rules engine is the CFS one (`CfsRuleEvaluator`): another evaluator cannot be handed to a
 * thread. A worker that dies fails the work it had; a worker that read the hub itself is replaced
 * after `restartDelayMs`, and otherwise the next work of its partitions starts a new one; either
 * restores their state from the rule state store as a restarted process does.
 */
export class TelemetryIngestWorkers {
  private readonly settings: WorkerIngestSettings;
  private readonly clock: ClockPort;
  private readonly threads: IngestThread[];
  private readonly workerOf = new Map<string, IngestThread>();
  /** The context each partition's latest batch (or the intake's list of held partitions) came with. */
  private readonly contexts = new Map<string, TelemetryPartitionContext>();
  /**
   * Per partition: the claim the intake's context seen last belongs to, counted. A worker holds a
   * context per claim it is told of, so that its ingest sees a new claim as the intake gave it
   * (and lets go of what it held of the partition: see `TelemetryIngest`).
   */
  private readonly claims = new Map<string, { readonly context: TelemetryPartitionContext; readonly claim: number }>();
  private readonly tickMs: number;
  private readonly source: TelemetrySourceModule | undefined;
  private readonly restartDelayMs: number;
  /** While the workers own their partitions: the consumer group they read, and what each worker reads. */
  private owning: { readonly consumerGroup: string; readonly partitions: Map<IngestThread, readonly string[] | null> } | undefined;
  /** The waits before replacing a worker that died, stopped when the reading stops. */
  private readonly restarts = new Set<AbortController>();

  constructor(
    private readonly deps: TelemetryIngestDeps,
    workers: number,
    options: TelemetryIngestWorkersOptions = {},
  ) {
    if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`workers must be a whole number of 1 or more (got ${workers}).`);
    const semiSpaceMb = options.semiSpaceMb ?? DEFAULT_INGEST_SEMI_SPACE_MB;
    if (!(Number.isInteger(semiSpaceMb) && semiSpaceMb >= 1 && semiSpaceMb <= 1_024))
      throw new RangeError(`semiSpaceMb must be a whole number from 1 to 1024 (got ${semiSpaceMb}).`);
    if (deps.evaluator !== undefined) throw new RangeError('Worker threads run the CFS rules engine only; leave evaluator unset.');
    const cores = availableParallelism();
    const advice = collectorAdvice(workers, cores, process.execArgv);
    if (advice !== undefined) deps.log.info('ingest.workers-collector', { workers, cores, advice });
    const { statusStore, ruleStateStore } = deps;
    this.settings = {
      defaultDeviceType: deps.defaultDeviceType,
      ...pick(deps, ['commitIntervalMs', 'lateArrivalMs', 'maxJournalEntries', 'recordsPerPart', 'stateKeyPrefix']),
      statusStore: statusStore !== undefined,
      ruleStateStore: ruleStateStore !== undefined,
    };
    this.clock = deps.clock ?? systemClock;
    const resourceLimits: ResourceLimits = { maxYoungGenerationSizeMb: 3 * semiSpaceMb };
    this.threads = Array.from(
      { length: workers },
      () =>
        new IngestThread(
          this.settings,
          resourceLimits,
          (call) => this.answer(call),
          deps,
          (thread) => this.died(thread),
        ),
    );
    this.tickMs = Math.max(deps.commitIntervalMs ?? 1_000, 100);
    this.source = options.source;
    this.restartDelayMs = options.restartDelayMs ?? 1_000;
  }

  /**
   * As `TelemetryIngest.subscribe`; closing the subscription commits what is left and stops the
   * workers. With a `source`, the workers read it themselves (see `ownPartitions`) and `intake` is
   * not read here.
   */
  async subscribe(intake: TelemetryIntakePort, consumerGroup: string): Promise<TelemetrySubscription> {
    if (this.source === undefined) return subscribeCommitting(this, intake, consumerGroup, this.tickMs, this.deps.log, () => this.close());
    const owned = await this.ownPartitions(consumerGroup);
    return {
      close: async () => {
        try {
          await owned.close();
        } finally {
          await this.close();
        }
      },
    };
  }

  /**
   * Each worker opens the `source` and reads its share of the partitions of `consumerGroup`
   * itself, committing every commit interval; resolves once every worker reads, with the partition
   * ids each reads (null: those the hub gives it, where it balances them). A worker that dies is
   * replaced after `restartDelayMs`, and the replacement reads the same partitions from their
   * checkpoints and saved state, as a restarted process does. `close` stops the reading, commits
   * what is left, and keeps the workers for another call.
   */
  async ownPartitions(consumerGroup: string): Promise<{ readonly partitions: ReadonlyArray<readonly string[] | null>; close(): Promise<void> }> {
    const source = this.source;
    if (source === undefined) throw new Error('These ingest workers have no source to read: give one in the options (source).');
    if (this.owning !== undefined) throw new Error(`These ingest workers already read consumer group '${this.owning.consumerGroup}'.`);
    const owning = { consumerGroup, partitions: new Map<IngestThread, readonly string[] | null>() };
    this.owning = owning;
    try {
      await Promise.all(this.threads.map((thread) => this.own(thread)));
    } catch (error) {
      this.owning = undefined;
      await Promise.allSettled(this.threads.filter((t) => t.started).map((t) => this.run(t, 'disown', [])));
      throw error;
    }
    const partitions = this.threads.map((t) => (owning.partitions.has(t) ? owning.partitions.get(t)! : []));
    this.deps.log.info('ingest.workers-read', {
      consumerGroup,
      partitions: partitions.map((p) => (p === null ? 'balanced by the hub' : p.join(','))).join(' | '),
    });
    return {
      partitions,
      close: async () => {
        if (this.owning !== owning) return;
        this.stopOwning();
        await Promise.all(this.threads.filter((t) => t.started).map((t) => this.run(t, 'disown', [])));
      },
    };
  }

  private async own(thread: IngestThread): Promise<void> {
    const owning = this.owning!;
    const { entry, settings } = this.source!;
    const index = this.threads.indexOf(thread);
    const partitions = await this.run<string[] | null>(thread, 'own', [entry, settings, index, this.threads.length, owning.consumerGroup, this.tickMs]);
    owning.partitions.set(thread, partitions);
  }

  /** The workers no longer own their partitions: no worker that died is replaced, nor one waiting to be. */
  private stopOwning(): void {
    this.owning = undefined;
    for (const waiting of this.restarts) waiting.abort();
    this.restarts.clear();
  }

  /** A worker died: while the workers own their partitions, a new one takes its partitions up after a pause (and again, should that fail). */
  private died(thread: IngestThread): void {
    const owning = this.owning;
    if (owning === undefined) return;
    const waiting = new AbortController();
    this.restarts.add(waiting);
    void sleep(this.restartDelayMs, waiting.signal).then(() => {
      this.restarts.delete(waiting);
      if (waiting.signal.aborted || this.owning !== owning) return;
      this.own(thread).then(
        () => this.deps.log.info('ingest.worker-restarted', { partitions: owning.partitions.get(thread)?.join(',') ?? 'balanced by the hub' }),
        (error: unknown) => {
          this.deps.log.error('ingest.worker-restart-failed', { error: error instanceof Error ? error.message : String(error) });
          // A worker that died meanwhile has scheduled the next attempt by dying; one that runs but could not read is stopped, to start afresh.
          if (thread.started) void thread.stop().then(() => this.died(thread));
        },
      );
    });
  }

  async handleBatch(batch: readonly TelemetryEnvelope[], partition?: TelemetryPartitionContext): Promise<void> {
    await this.ingestBatch(batch, partition);
  }

  /** As `TelemetryIngest.ingestBatch`: the batch's partitions run on their workers at once; the outcome lists them in the order they came. */
  async ingestBatch(batch: readonly TelemetryEnvelope[], partition?: TelemetryPartitionContext): Promise<BatchOutcome> {
    const byPartition = groupByPartition(batch);
    if (partition !== undefined && byPartition.has(partition.partitionId)) this.contexts.set(partition.partitionId, partition);
    const outcomes = await Promise.all(
      [...byPartition].map(async ([partitionId, envelopes]) => {
        const { reference, transfer: referenceBuffers } = await batchReference(this.deps.referenceData, envelopes);
        const { packed, transfer } = packEnvelopes(partitionId, envelopes);
        return this.run<BatchOutcome>(
          this.threadOf(partitionId),
          'ingestBatch',
          partition?.partitionId === partitionId ? [packed, partitionId, reference, this.claimOf(partition)] : [packed, undefined, reference],
          [...transfer, ...referenceBuffers],
        );
      }),
    );
    const alerts: ThresholdAlert[] = [];
    let rejected = 0;
    let skipped = 0;
    for (const outcome of outcomes) {
      for (const alert of outcome.alerts) alerts.push(alert);
      rejected += outcome.rejected;
      skipped += outcome.skipped;
    }
    return { alerts, rejected, skipped };
  }

  async flush(): Promise<void> {
    await this.onEveryThread('flush', []);
  }

  async commitDue(): Promise<void> {
    await this.onEveryThread('commitDue', []);
  }

  /** As `TelemetryIngest.advanceIdle`: each worker moves the held partitions it has (and restores those it has not seen). */
  async advanceIdle(held?: readonly TelemetryPartitionContext[]): Promise<ThresholdAlert[]> {
    if (held === undefined) return (await this.onEveryThread<ThresholdAlert[]>('advanceIdle', [undefined])).flat();
    const heldBy = new Map<IngestThread, { ids: string[]; claims: number[] }>(this.threads.map((t) => [t, { ids: [], claims: [] }]));
    for (const context of held) {
      this.contexts.set(context.partitionId, context);
      const of = heldBy.get(this.threadOf(context.partitionId))!;
      of.ids.push(context.partitionId);
      of.claims.push(this.claimOf(context));
    }
    const raised = await Promise.all(
      [...heldBy]
        .filter(([thread, { ids }]) => thread.started || ids.length > 0)
        .map(([thread, { ids, claims }]) => this.run<ThresholdAlert[]>(thread, 'advanceIdle', [ids, claims])),
    );
    return raised.flat();
  }

  private claimOf(context: TelemetryPartitionContext): number {
    const known = this.claims.get(context.partitionId);
    if (known?.context === context) return known.claim;
    const claim = (known?.claim ?? 0) + 1;
    this.claims.set(context.partitionId, { context, claim });
    return claim;
  }

  async advanceTime(now: number): Promise<ThresholdAlert[]> {
    return (await this.onEveryThread<ThresholdAlert[]>('advanceTime', [now])).flat();
  }

  /** Starts every worker and waits until each has loaded (otherwise each starts with its first work). */
  async start(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.ready()));
  }

  /** Stops the workers (after `flush`, or the close of `ownPartitions`, to keep what is not committed). */
  async close(): Promise<void> {
    this.stopOwning();
    await Promise.all(this.threads.map((t) => t.stop()));
  }

  /**
   * The reference data a batch will most likely ask for, sent with it so that its worker need not
   * ask: the device type of each sending device (the hub's `connectionDeviceId`, which the body's
   * `DeviceID` names too) and the rules in force at each enqueued time, asked in one call where
   * the reference data takes one (`lookUp`). The worker asks for the rest (a commit's peaks), in one call.
   */
  private threadOf(partitionId: string): IngestThread {
    let thread = this.workerOf.get(partitionId);
    if (thread === undefined) {
      thread = this.threads[this.workerOf.size % this.threads.length]!;
      this.workerOf.set(partitionId, thread);
    }
    return thread;
  }

  private onEveryThread<T>(method: IngestMethod, args: readonly unknown[]): Promise<T[]> {
    return Promise.all(this.threads.filter((t) => t.started).map((t) => this.run<T>(t, method, args)));
  }

  private run<T>(thread: IngestThread, method: IngestMethod, args: readonly unknown[], transfer: readonly ArrayBuffer[] = []): Promise<T> {
    const newest: Record<string, number | null> = {};
    for (const [partitionId, t] of this.workerOf) {
      const tell = t === thread ? this.contexts.get(partitionId)?.lastEnqueuedSequenceNumber : undefined;
      if (tell !== undefined) newest[partitionId] = tell() ?? null;
    }
    return thread.run(method, args, this.clock.now(), newest, transfer) as Promise<T>;
  }

  /** A worker's call of a port, made here. */
  private answer(call: PortCall): Promise<unknown> {
    const methods: readonly string[] = WORKER_PORT_METHODS[call.port] ?? [];
    if (!methods.includes(call.method)) return Promise.reject(new Error(`A worker asked for ${call.port}.${call.method}, which it may not call.`));
    const { deps } = this;
    const a = call.args;
    switch (call.port) {
      case 'referenceData':
        if (call.method === 'lookUp') return lookUpReference(deps.referenceData, a[0] as string[], a[1] as number[]);
        return call.method === 'deviceRules' ? deps.referenceData.deviceRules(a[0] as number) : deps.referenceData.deviceTypeOf(a[0] as string);
      case 'alertsQueue':
        return deps.alertsQueue.send(a[0] as never);
      case 'rejected':
        return deps.rejected.reject(a[0] as never);
      case 'log':
        deps.log[call.method as 'info' | 'warn' | 'error'](a[0] as string, a[1] as never);
        return Promise.resolve();
      case 'statusStore': {
        const store = deps.statusStore!;
        if (call.method === 'writeAggregates') return store.writeAggregates(unpackAggregates(a[0] as PackedAggregates));
        return upsertHealthRows(store, unpackHealth(a[0] as PackedHealth));
      }
      case 'ruleStateStore': {
        const store = deps.ruleStateStore!;
        if (call.method === 'loadJson') return loadJsonOf(store, a[0] as string);
        // The worker sent the state as JSON text: a store that keeps text takes it as it is, with no parse here.
        const [key, json] = a as [string, string];
        return store.saveJson !== undefined ? store.saveJson(key, json) : store.save(key, JSON.parse(json) as unknown);
      }
      case 'effects':
        return storeBatchEffects(deps, a[1] as SentEffects);
      case 'checkpoint': {
        const context = this.contexts.get(a[0] as string);
        return context === undefined ? Promise.resolve() : context.checkpoint(a[1] as TelemetryEnvelope);
      }
    }
  }
}

/** One worker thread, started at its first work, and again after it died. */
class IngestThread {
  private worker: Worker | undefined;
  private readonly running = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private answers: Answer[] = [];
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly settings: WorkerIngestSettings,
    private readonly resourceLimits: ResourceLimits,
    private readonly answer: (call: PortCall) => Promise<unknown>,
    private readonly deps: Pick<TelemetryIngestDeps, 'log'>,
    private readonly onDied: (thread: IngestThread) => void,
  ) {}

  /** Resolves once the worker (started now if it is not) has loaded. */
  ready(): Promise<void> {
    if (this.worker === undefined) this.start();
    return this.loaded!;
  }

  get started(): boolean {
    return this.worker !== undefined;
  }

  /** `transfer`: buffers of `args` moved to the worker, no longer usable here. */
  run(method: IngestMethod, args: readonly unknown[], now: number, newest: Record<string, number | null>, transfer: readonly ArrayBuffer[]): Promise<unknown> {
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    const done = new Promise((resolve, reject) => this.running.set(id, { resolve, reject }));
    worker.postMessage({ kind: 'run', id, method, args, now, newest } satisfies ToWorker, transfer);
    return done;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  /**
   * A batch's effects are stored: its run is answered now with their outcome, without waiting for
   * the worker to take the batch in (nothing there can fail; the partition's next batch runs after
   * it). The worker then sends no answer of its own for that run.
   */
  private answerBatch([runId, effects]: [number | null, SentEffects]): void {
    const work = runId === null || effects.answerAfterCommit ? undefined : this.running.get(runId);
    if (work === undefined) return;
    this.running.delete(runId!);
    work.resolve(effects.outcome);
  }

  /** Answers ready in one turn leave in one message. */
  private reply(worker: Worker, answer: Answer): void {
    if (this.answers.length === 0) {
      queueMicrotask(() => {
        const answers = this.answers;
        this.answers = [];
        worker.postMessage({ kind: 'answers', answers } satisfies ToWorker);
      });
    }
    this.answers.push(answer);
  }

  private start(): Worker {
    const worker = new Worker(WORKER_ENTRY, { workerData: { ...this.settings, entry: WORKER_MODULE.href }, resourceLimits: this.resourceLimits });
    let isReady: () => void = () => undefined;
    this.loaded = new Promise<void>((resolve) => (isReady = resolve));
    worker.on('message', (message: FromWorker) => {
      if (message.kind === 'ready') return isReady();
      if (message.kind === 'answer') {
        const work = this.running.get(message.id);
        // A run answered when its effects were stored ends without a word, unless it failed after (which cannot happen, but would not go unnoticed).
        if (work === undefined && !message.ok) this.deps.log.error('ingest.worker-batch-failed-after-its-effects', { error: message.error.message });
        this.running.delete(message.id);
        if (message.ok) work?.resolve(message.value);
        else work?.reject(receivedError(message.error));
        return;
      }
      for (const call of message.calls) {
        const id = call.id;
        const answered = this.answer(call);
        if (id === undefined) {
          answered.catch(() => undefined);
          continue;
        }
        answered.then(
          (value) => {
            this.reply(worker, { kind: 'answer', id, ok: true, value });
            if (call.port === 'effects') this.answerBatch(call.args as [number | null, SentEffects]);
          },
          (error: unknown) => this.reply(worker, { kind: 'answer', id, ok: false, error: sendableError(error) }),
        );
      }
    });
    const died = (error: Error): void => {
      isReady();
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.deps.log.error('ingest.worker-failed', { error: error.message });
      for (const work of this.running.values()) work.reject(error);
      this.running.clear();
      this.onDied(this);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`The ingest worker stopped (exit code ${code}).`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * The worker's module: the built JavaScript beside this one, or, when this runs from the
 * TypeScript sources (with tsx), those sources through a starter that registers tsx in the thread.
 */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_MODULE = new URL(FROM_SOURCES ? './telemetry-ingest-worker.ts' : './telemetry-ingest-worker.js', import.meta.url);
const WORKER_ENTRY = FROM_SOURCES ? new URL('./telemetry-ingest-worker-sources.mjs', import.meta.url) : WORKER_MODULE;

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}
