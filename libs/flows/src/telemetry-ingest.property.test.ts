import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryRuleStateStore, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { loadRuleSet, THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { silentLog, type MessageQueuePort, type RejectedTelemetryPort, type RuleStateStorePort, type StatusStorePort, type TelemetryEnvelope } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RulesEngineEvaluator, type RuleEvaluator } from './rule-evaluator.js';
import { TelemetryIngest, type BatchOutcome } from './telemetry-ingest.js';
import { FaultSchedule, type FaultTiming } from './testing/fault-injection.js';

/*
 * The full ingest (rules, minute aggregates, device health, partition state journal and
 * checkpoints) against itself: whatever happens between batches (a restart from the stored state,
 * a checkpoint or a journal entry, a batch read again, a batch failing half way and given again),
 * what leaves it (alert messages, aggregate rows, health rows, what each batch reports) is what an
 * uninterrupted run of the same messages gives.
 */

const T = Date.parse('2026-11-28T09:00:00.000Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3'];

interface MessageSpec {
  readonly device: number;
  readonly partition: number;
  /** Event time moves by this much (negative: a late message). */
  readonly stepMs: number;
  readonly kind: 'reading' | 'heartbeat' | 'unreadable';
  readonly temperature: number;
  readonly humidity: number | undefined;
}

const messageArbitrary: fc.Arbitrary<MessageSpec> = fc.record({
  device: fc.integer({ min: 0, max: DEVICES.length - 1 }),
  partition: fc.integer({ min: 0, max: 1 }),
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
          : JSON.stringify({ DeviceID: deviceId, EventToken: `t${i}`, ...(s.kind === 'reading' ? { Temperature: s.temperature, ...(s.humidity === undefined ? {} : { Humidity: s.humidity }) } : {}) });
      return { body: new TextEncoder().encode(body), connectionDeviceId: deviceId, enqueuedTime: time, partitionId: String(s.partition), sequenceNumber: sequence[s.partition]!++ };
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
      { id: 'hot', kind: 'threshold', scope: { deviceType: 'Thermostat' }, reading: 'Temperature', condition: { operator: '>', value: 70 }, severity: 'major', suppression: { singleOpenAlert: true } },
      { id: 'silent', kind: 'absence', scope: { deviceType: 'Thermostat' }, severity: 'major', output: 'DeviceSilent', forMs: 60_000 },
    ],
  });
  if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
  return new RulesEngineEvaluator(ruleSet.value);
};

interface RunOptions {
  readonly evaluator: EvaluatorKind;
  readonly maxJournalEntries: number;
  /** After these batches (0-based), the process stops and a new one starts over the same stores. */
  readonly restartAfter?: ReadonlySet<number>;
  /** These batches are handed over a second time (re-read), after they succeeded. */
  readonly readAgain?: ReadonlySet<number>;
  /** The k-th call to a store or the alerts queue fails (before or after it took effect); the batch is then given again. */
  readonly faults?: ReadonlyMap<number, FaultTiming>;
  /** After a failed batch, a new process takes over before it is given again. */
  readonly restartAfterFailure?: boolean;
}

async function run(batches: readonly TelemetryEnvelope[][], options: RunOptions) {
  // A duplicate detection window as long as the run: a batch given again after a failure re-sends under the same message ids.
  const alertsQueue = new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 24 * 3_600_000 });
  const statusStore = new InMemoryStatusStore();
  const ruleStateStore = new InMemoryRuleStateStore();
  const rejected = new InMemoryRejectedTelemetry();
  const schedule = new FaultSchedule(options.faults ?? new Map());
  const evaluator = evaluatorOf(options.evaluator);
  const start = (): TelemetryIngest =>
    new TelemetryIngest({
      referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
      alertsQueue: schedule.wrap<MessageQueuePort>(alertsQueue, 'alertsQueue', ['send']),
      rejected: schedule.wrap<RejectedTelemetryPort>(rejected, 'rejected', ['reject']),
      statusStore: schedule.wrap<StatusStorePort>(statusStore, 'statusStore', ['writeAggregates', 'upsertDeviceHealth']),
      ruleStateStore: schedule.wrap<RuleStateStorePort>(ruleStateStore, 'ruleStateStore'),
      log: silentLog,
      defaultDeviceType: 'Thermostat',
      maxJournalEntries: options.maxJournalEntries,
      ...(evaluator === undefined ? {} : { evaluator }),
    });
  let ingest = start();
  const outcomes: BatchOutcome[] = [];
  for (const [i, batch] of batches.entries()) {
    // Given again until it succeeds, as the intake does from its checkpoint.
    for (let attempt = 0; ; attempt++) {
      if (attempt > 20) throw new Error(`batch ${i} never succeeded`);
      try {
        outcomes.push(await ingest.ingestBatch(batch));
        break;
      } catch (e) {
        if (!(e instanceof Error && e.name === 'InjectedFault')) throw e;
        if (options.restartAfterFailure === true) ingest = start();
      }
    }
    if (options.readAgain?.has(i) === true) expect(await ingest.ingestBatch(batch)).toMatchObject({ alerts: [], skipped: batch.length });
    if (options.restartAfter?.has(i) === true) ingest = start();
  }
  const messages = (await alertsQueue.receive({ maxMessages: 1_000, maxWaitMs: 0 })).map((m) => ({ id: m.messageId, body: new TextDecoder().decode(m.body) }));
  const aggregates = (await Promise.all(DEVICES.map((d) => statusStore.queryAggregates(d, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)))).flat();
  const rejectedTokens = new Set((await rejected.list(1_000)).map((r) => `${r.envelope.partitionId}/${r.envelope.sequenceNumber}`));
  return { outcomes, messages, aggregates, health: await statusStore.listDeviceHealth(), rejected: [...rejectedTokens].sort(), injected: schedule.injected };
}

const indexSet = fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { maxLength: 10 }).map((a) => new Set(a));

describe('TelemetryIngest, full ingest (property)', () => {
  it('property: restarting from the stored state after any batches, and reading batches again, gives the same alerts, aggregate rows, health rows and batch outcomes as an uninterrupted run', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary, fc.constantFrom<EvaluatorKind>('cfs', 'rules-engine'), fc.integer({ min: 0, max: 3 }), indexSet, indexSet, async (batches, evaluator, maxJournalEntries, restartAfter, readAgain) => {
        const uninterrupted = await run(batches, { evaluator, maxJournalEntries: 1_000 });
        const interrupted = await run(batches, { evaluator, maxJournalEntries, restartAfter, readAgain });
        expect(interrupted).toEqual(uninterrupted);
      }),
      { numRuns: 150 },
    );
  });

  it('property: a batch that fails half way (any store or alerts-queue call failing before or after it took effect, with or without a restart) and is given again ends as a clean run does', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArbitrary,
        fc.constantFrom<EvaluatorKind>('cfs', 'rules-engine'),
        fc.integer({ min: 0, max: 3 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom<FaultTiming>('before', 'after'),
        fc.boolean(),
        async (batches, evaluator, maxJournalEntries, failingCalls, timing, restartAfterFailure) => {
          const clean = await run(batches, { evaluator, maxJournalEntries });
          const faulty = await run(batches, { evaluator, maxJournalEntries, faults: new Map(failingCalls.map((n) => [n, timing])), restartAfterFailure });
          // A new process after a failure that came once the state was stored finds that batch done: only its own outcome differs.
          const comparable = (r: Awaited<ReturnType<typeof run>>) => ({ ...r, injected: [], outcomes: restartAfterFailure ? [] : r.outcomes });
          expect(comparable(faulty)).toEqual(comparable(clean));
        },
      ),
      { numRuns: 150 },
    );
  });
});
