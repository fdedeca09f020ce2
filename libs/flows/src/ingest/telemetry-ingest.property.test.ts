import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryRuleStateStore, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { loadRuleSet, THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import {
  silentLog,
  type MessageQueuePort,
  type RejectedTelemetryPort,
  type RuleStateStorePort,
  type StatusStorePort,
  type TelemetryEnvelope,
  type TelemetryPartitionContext,
} from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RulesEngineEvaluator, type RuleEvaluator } from './rule-evaluator.js';
import { TelemetryIngest, type BatchOutcome, type TelemetryIngestDeps } from './telemetry-ingest.js';
import { TelemetryIngestWorkers } from './telemetry-ingest-workers.js';
import { FaultSchedule, type FaultTiming } from '../testing/fault-injection.js';

/*
 * The full ingest (rules, minute aggregates, device health, partition state journal and
 * checkpoints, commits) against itself: whatever happens between batches (a commit or none, a
 * restart from the stored state with the intake handing again what followed its checkpoint, a
 * batch read again, a batch or a commit failing half way and given again), what leaves it (alert
 * messages, aggregate rows, health rows, what each batch reports) is what an uninterrupted run of
 * the same messages gives.
 */

const T = Date.parse('2026-11-28T09:00:00.000Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3'];

interface MessageSpec {
  readonly device: number;
  /** Event time moves by this much (negative: a late message). */
  readonly stepMs: number;
  readonly kind: 'reading' | 'heartbeat' | 'unreadable';
  readonly temperature: number;
  readonly humidity: number | undefined;
}

const messageArbitrary: fc.Arbitrary<MessageSpec> = fc.record({
  device: fc.integer({ min: 0, max: DEVICES.length - 1 }),
  stepMs: fc.oneof(fc.integer({ min: 0, max: 45_000 }), fc.integer({ min: -12_000, max: 0 })),
  kind: fc.constantFrom('reading', 'reading', 'reading', 'heartbeat', 'unreadable'),
  // Few distinct values over the threshold (70), so the CFS one-minute suppression matters.
  temperature: fc.constantFrom(60, 69, 71, 72, 86),
  humidity: fc.option(fc.integer({ min: 30, max: 50 }), { nil: undefined }),
});

/** Messages in hub batches: sizes, partitions and sequence numbers as the intake hands them over. */
const batchesArbitrary = fc
  .tuple(fc.array(messageArbitrary, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 30, maxLength: 30 }))
  .map(([specs, sizes]) => {
    const sequence = [0, 0];
    let time = T;
    const envelopes = specs.map((s, i): TelemetryEnvelope => {
      time += s.stepMs;
      const deviceId = DEVICES[s.device]!;
      const body =
        s.kind === 'unreadable'
          ? `{"DeviceID":"${deviceId}","Temperature":"hot","EventToken":"t${i}"}`
          : JSON.stringify({ DeviceID: deviceId, EventToken: `t${i}`, ...(s.kind === 'reading' ? { Temperature: s.temperature, Humidity: s.humidity } : {}) });
      // The hub keeps a device in one partition: its rows and health are then written by one partition's commits only.
      const partition = s.device % 2;
      return {
        body: new TextEncoder().encode(body),
        connectionDeviceId: deviceId,
        enqueuedTime: time,
        partitionId: String(partition),
        sequenceNumber: sequence[partition]!++,
      };
    });
    // Each batch holds messages of one partition, as the intake hands them over.
    const batches: TelemetryEnvelope[][] = [];
    let current: TelemetryEnvelope[] = [];
    for (const envelope of envelopes) {
      if (current.length > 0 && (current.length >= sizes[batches.length % sizes.length]! || current[0]!.partitionId !== envelope.partitionId)) {
        batches.push(current);
        current = [];
      }
      current.push(envelope);
    }
    batches.push(current);
    return batches;
  });

type EvaluatorKind = 'cfs' | 'rules-engine';
const evaluatorOf = (kind: EvaluatorKind): RuleEvaluator<unknown> | undefined => {
  if (kind === 'cfs') return undefined;
  const ruleSet = loadRuleSet({
    version: 1,
    rules: [
      {
        id: 'hot',
        kind: 'threshold',
        scope: { deviceType: 'Thermostat' },
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        severity: 'major',
        suppression: { singleOpenAlert: true },
      },
      { id: 'silent', kind: 'absence', scope: { deviceType: 'Thermostat' }, severity: 'major', output: 'DeviceSilent', forMs: 60_000 },
    ],
  });
  if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
  return new RulesEngineEvaluator(ruleSet.value);
};

interface RunOptions {
  readonly evaluator: EvaluatorKind;
  readonly maxJournalEntries: number;
  /** Windows or devices per stored part (small: a commit of a few devices spans several keys). */
  readonly recordsPerPart?: number;
  /** Every batch commits before it resolves; otherwise the partitions commit only after the batches in `commitAfter` (and at the end). */
  readonly commitEveryBatch?: boolean;
  readonly commitAfter?: ReadonlySet<number>;
  /** After these batches (0-based), the process stops without committing and a new one starts over the same stores. */
  readonly restartAfter?: ReadonlySet<number>;
  /** These batches are handed over a second time (re-read), after they succeeded. */
  readonly readAgain?: ReadonlySet<number>;
  /** The k-th call to a store or the alerts queue fails (before or after it took effect); the batch or commit is then tried again. */
  readonly faults?: ReadonlyMap<number, FaultTiming>;
  /** After a failure, a new process takes over before the batch is given again. */
  readonly restartAfterFailure?: boolean;
  /** The partitions run on this many worker threads (`TelemetryIngestWorkers`); on this thread without it. */
  readonly workers?: number;
}

const isInjected = (e: unknown): boolean => e instanceof Error && e.name === 'InjectedFault';

/**
 * Plays the intake and the process around the ingest: batches in order, each partition checkpointed
 * only where the ingest marks it, and after a restart every batch after the earliest mark handed
 * again (what the restored state holds comes back skipped).
 */
async function run(batches: readonly TelemetryEnvelope[][], options: RunOptions) {
  // A duplicate detection window as long as the run: alerts sent again after a failure or a restart keep their message ids.
  const alertsQueue = new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 24 * 3_600_000 });
  const statusStore = new InMemoryStatusStore();
  const ruleStateStore = new InMemoryRuleStateStore();
  const rejected = new InMemoryRejectedTelemetry();
  const schedule = new FaultSchedule(options.faults ?? new Map());
  const evaluator = evaluatorOf(options.evaluator);
  const marks = new Map<string, number>();
  // As an intake: one context per partition for as long as a process holds it; a new process claims it anew.
  const contexts = new Map<string, TelemetryPartitionContext>();
  const context = (partitionId: string): TelemetryPartitionContext => {
    const known = contexts.get(partitionId);
    if (known !== undefined) return known;
    const made: TelemetryPartitionContext = {
      partitionId,
      checkpoint: async (through) => void marks.set(partitionId, Math.max(marks.get(partitionId) ?? -1, through.sequenceNumber)),
    };
    contexts.set(partitionId, made);
    return made;
  };
  const ingestOf = (deps: TelemetryIngestDeps): TelemetryIngest | TelemetryIngestWorkers =>
    options.workers === undefined ? new TelemetryIngest(deps) : new TelemetryIngestWorkers(deps, options.workers);
  const start = (): TelemetryIngest | TelemetryIngestWorkers =>
    ingestOf({
      referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
      alertsQueue: schedule.wrap<MessageQueuePort>(alertsQueue, 'alertsQueue', ['send']),
      rejected: schedule.wrap<RejectedTelemetryPort>(rejected, 'rejected', ['reject']),
      statusStore: schedule.wrap<StatusStorePort>(statusStore, 'statusStore', ['writeAggregates', 'upsertDeviceHealth']),
      ruleStateStore: schedule.wrap<RuleStateStorePort>(ruleStateStore, 'ruleStateStore'),
      log: silentLog,
      defaultDeviceType: 'Thermostat',
      maxJournalEntries: options.maxJournalEntries,
      ...(options.recordsPerPart === undefined ? {} : { recordsPerPart: options.recordsPerPart }),
      // Without commits on every batch, only the flushes below commit: a clock that never moves.
      commitIntervalMs: options.commitEveryBatch === true ? 0 : 60_000,
      clock: { now: () => 0 },
      ...(evaluator === undefined ? {} : { evaluator }),
    });
  let ingest = start();
  /** A new process: it resumes each partition after its mark, so the intake hands again every batch after the earliest one not covered. */
  const restart = (): number => {
    // The old process stops without committing (its workers too).
    if (ingest instanceof TelemetryIngestWorkers) void ingest.close();
    ingest = start();
    contexts.clear();
    const resume = batches.findIndex((b) => b.at(-1)!.sequenceNumber > (marks.get(b[0]!.partitionId) ?? -1));
    return resume < 0 ? batches.length : resume;
  };
  const outcomes: BatchOutcome[] = [];
  const crashed = new Set<number>();
  let attempts = 0;
  for (let i = 0; i < batches.length; i++) {
    if (++attempts > 40 * batches.length) throw new Error('the run never ended');
    const batch = batches[i]!;
    let outcome: BatchOutcome;
    try {
      outcome = await ingest.ingestBatch(batch, context(batch[0]!.partitionId));
      if (options.commitAfter?.has(i) === true) await ingest.flush();
    } catch (e) {
      if (!isInjected(e)) throw e;
      // Given again (from the checkpoint, by a new process), as the intake does.
      i = (options.restartAfterFailure === true ? restart() : i) - 1;
      continue;
    }
    // A batch the restored state already held comes back skipped whole: it keeps the outcome it had.
    if (outcome.skipped < batch.length) outcomes[i] = outcome;
    if (options.readAgain?.has(i) === true)
      expect(await ingest.ingestBatch(batch, context(batch[0]!.partitionId))).toMatchObject({ alerts: [], skipped: batch.length });
    // Each crash point crashes once; what the intake hands again after it runs on.
    if (options.restartAfter?.has(i) === true && !crashed.has(i)) {
      crashed.add(i);
      i = restart() - 1;
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await ingest.flush();
      break;
    } catch (e) {
      if (!isInjected(e) || attempt > 20) throw e;
    }
  }
  if (ingest instanceof TelemetryIngestWorkers) await ingest.close();
  const messages = (await alertsQueue.receive({ maxMessages: 1_000, maxWaitMs: 0 })).map((m) => ({ id: m.messageId, body: new TextDecoder().decode(m.body) }));
  const aggregates = (await Promise.all(DEVICES.map((d) => statusStore.queryAggregates(d, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)))).flat();
  const rejectedTokens = new Set((await rejected.list(1_000)).map((r) => `${r.envelope.partitionId}/${r.envelope.sequenceNumber}`));
  return {
    outcomes,
    messages,
    aggregates,
    health: (await statusStore.listDeviceHealth()).sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
    rejected: [...rejectedTokens].sort(),
    injected: schedule.injected,
  };
}

const indexSet = fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { maxLength: 10 }).map((a) => new Set(a));
const evaluatorKind = fc.constantFrom<EvaluatorKind>('cfs', 'rules-engine');
const maxJournalEntriesArbitrary = fc.integer({ min: 0, max: 3 });
/** Windows or devices per stored part: 1 and 2 split even a few devices' state over several keys. */
const recordsPerPartArbitrary = fc.constantFrom(1, 2, 500);

describe('TelemetryIngest, full ingest (property)', () => {
  it('property: committing after any batches or after every one, with the state stored in parts of any size, restarting from the stored state after any batches (the intake handing again what followed its checkpoint), and reading batches again, gives the same alerts, aggregate rows, health rows and batch outcomes as an uninterrupted run', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArbitrary,
        evaluatorKind,
        maxJournalEntriesArbitrary,
        fc.boolean(),
        indexSet,
        indexSet,
        indexSet,
        recordsPerPartArbitrary,
        async (batches, evaluator, maxJournalEntries, commitEveryBatch, commitAfter, restartAfter, readAgain, recordsPerPart) => {
          const uninterrupted = await run(batches, { evaluator, maxJournalEntries: 1_000 });
          const interrupted = await run(batches, { evaluator, maxJournalEntries, recordsPerPart, commitEveryBatch, commitAfter, restartAfter, readAgain });
          expect(interrupted).toEqual(uninterrupted);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: a batch or a commit that fails half way (any store or alerts-queue call failing before or after it took effect, with or without a restart) and is tried again ends as a clean run does', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArbitrary,
        evaluatorKind,
        maxJournalEntriesArbitrary,
        fc.boolean(),
        indexSet,
        fc.uniqueArray(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom<FaultTiming>('before', 'after'),
        fc.boolean(),
        recordsPerPartArbitrary,
        async (batches, evaluator, maxJournalEntries, commitEveryBatch, commitAfter, failingCalls, timing, restartAfterFailure, recordsPerPart) => {
          const clean = await run(batches, { evaluator, maxJournalEntries, recordsPerPart, commitEveryBatch, commitAfter });
          const faulty = await run(batches, {
            evaluator,
            maxJournalEntries,
            recordsPerPart,
            commitEveryBatch,
            commitAfter,
            faults: new Map(failingCalls.map((n) => [n, timing])),
            restartAfterFailure,
          });
          // A batch whose commit failed once its effects were stored comes back skipped: what it did counts, its outcome is not told twice.
          const comparable = (r: Awaited<ReturnType<typeof run>>) => ({ ...r, injected: [], outcomes: [] });
          expect(comparable(faulty)).toEqual(comparable(clean));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: with the partitions on two worker threads, committing after any batches or after every one, restarting after any batches and failing any store or alerts-queue call half way gives the same alerts, aggregate rows, health rows and batch outcomes as an uninterrupted run on one thread', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArbitrary,
        maxJournalEntriesArbitrary,
        fc.boolean(),
        indexSet,
        indexSet,
        fc.uniqueArray(fc.integer({ min: 1, max: 120 }), { maxLength: 2 }),
        fc.constantFrom<FaultTiming>('before', 'after'),
        async (batches, maxJournalEntries, commitEveryBatch, commitAfter, restartAfter, failingCalls, timing) => {
          const oneThread = await run(batches, { evaluator: 'cfs', maxJournalEntries: 1_000 });
          const workers = await run(batches, {
            evaluator: 'cfs',
            maxJournalEntries,
            commitEveryBatch,
            commitAfter,
            restartAfter,
            faults: new Map(failingCalls.map((n) => [n, timing])),
            workers: 2,
          });
          const comparable = (r: Awaited<ReturnType<typeof run>>) => ({ ...r, injected: [], outcomes: failingCalls.length > 0 ? [] : r.outcomes });
          expect(comparable(workers)).toEqual(comparable(oneThread));
        },
      ),
      // Each run starts its workers (and again at each restart): few runs, each one long.
      { numRuns: 8 },
    );
  }, 300_000);
});
