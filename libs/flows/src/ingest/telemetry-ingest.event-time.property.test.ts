import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryRuleStateStore, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { loadRuleSet, THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import {
  decodeCfsAlertMessage,
  RuleStateError,
  silentLog,
  type RuleStateStorePort,
  type TelemetryEnvelope,
  type TelemetryPartitionContext,
} from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runRulesOffline, type RulesFile } from './offline-rules.js';
import { RulesEngineEvaluator } from './rule-evaluator.js';
import { TelemetryIngest } from './telemetry-ingest.js';

/*
 * Event time, not the wall clock: the stream processor's ingest raises, on any recorded stream,
 * the alerts the offline evaluation of `fieldlink rules test` raises on the same recording,
 * however the hub hands it over (batches of any size), whatever happens between batches (commits,
 * restarts from the stored state, the clock letting caught-up partitions' time move), and whether
 * it runs live (the clock at the events' time) or hours late (a backlog read long after).
 */

const T = Date.parse('2026-11-28T09:00:00.000Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3', 'thermostat-4'];
const LATE_ARRIVAL_MS = 5_000;
const HOURS_LATE = 3 * 3_600_000;

interface Step {
  readonly device: number;
  readonly gapMs: number;
  readonly kind: 'reading' | 'heartbeat' | 'unreadable';
  readonly temperature: number;
  readonly humidity: number | undefined;
  /** Stream Analytics at compatibility level 1.0 writes the names lower-cased. */
  readonly lowerCase: boolean;
}

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  device: fc.integer({ min: 0, max: DEVICES.length - 1 }),
  // Mostly close together (the one-minute suppression matters), sometimes a silence longer than the absence rule's.
  gapMs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 20_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 150_000 }) }),
  kind: fc.constantFrom('reading', 'reading', 'reading', 'heartbeat', 'unreadable'),
  temperature: fc.constantFrom(60, 69, 71, 72, 86),
  humidity: fc.option(fc.constantFrom(40, 85), { nil: undefined }),
  lowerCase: fc.boolean(),
});

interface Recording {
  /** The JSON Lines file `rules test` reads. */
  readonly lines: string[];
  /** The same events as the hub hands them: enqueued times in order, a device in one partition. */
  readonly envelopes: TelemetryEnvelope[];
}

const recordingArbitrary: fc.Arbitrary<Recording> = fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }).map((steps) => {
  let time = T;
  const sequence = [0, 0];
  const lines: string[] = [];
  const envelopes: TelemetryEnvelope[] = [];
  steps.forEach((s, i) => {
    time += s.gapMs;
    const deviceId = DEVICES[s.device]!;
    const name = (n: string): string => (s.lowerCase ? n.toLowerCase() : n);
    const message: Record<string, unknown> = { [name('DeviceID')]: deviceId, [name('EventToken')]: `e${i}` };
    if (s.kind === 'reading') {
      message[name('Temperature')] = s.temperature;
      if (s.humidity !== undefined) message[name('Humidity')] = s.humidity;
    }
    if (s.kind === 'unreadable') message[name('Temperature')] = 'hot';
    const partition = s.device % 2;
    envelopes.push({
      body: new TextEncoder().encode(JSON.stringify(message)),
      connectionDeviceId: deviceId,
      enqueuedTime: time,
      partitionId: String(partition),
      sequenceNumber: sequence[partition]!++,
    });
    lines.push(JSON.stringify({ ...message, [name('EventEnqueuedUtcTime')]: new Date(time).toISOString() }));
  });
  return { lines, envelopes };
});

type RulesKind = 'cfs' | 'native';

function rulesOf(kind: RulesKind): RulesFile {
  if (kind === 'cfs') return { kind: 'cfs', rules: THERMOSTAT_DEFAULT_RULES };
  const scope = { deviceType: 'Thermostat' };
  const ruleSet = loadRuleSet({
    version: 1,
    rules: [
      {
        id: 'hot',
        kind: 'threshold',
        scope,
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        severity: 'major',
        clear: { when: 'quiet', forMs: 45_000 },
        suppression: { singleOpenAlert: true },
      },
      { id: 'humid', kind: 'duration', scope, reading: 'Humidity', condition: { operator: '>', value: 80 }, forMs: 30_000, severity: 'minor' },
      {
        id: 'warm-minute',
        kind: 'window',
        scope,
        reading: 'Temperature',
        aggregate: 'avg',
        window: { type: 'tumbling', sizeMs: 60_000 },
        condition: { operator: '>', value: 70 },
        severity: 'minor',
      },
      { id: 'silent', kind: 'absence', scope, output: 'DeviceSilent', forMs: 60_000, severity: 'critical' },
    ],
  });
  if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
  return { kind: 'native', ruleSet: ruleSet.value };
}

/** What happens after a batch is handed over. */
type Between = 'nothing' | 'commit' | 'restart' | 'tick';
const betweenArbitrary = fc.array(fc.constantFrom<Between>('nothing', 'nothing', 'commit', 'restart', 'tick', 'tick'), { minLength: 40, maxLength: 40 });
const sizesArbitrary = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 40, maxLength: 40 });

interface Schedule {
  readonly sizes: readonly number[];
  readonly between: readonly Between[];
  /**
   * `live`: the clock at the time of what has been enqueued; `late`: the whole stream enqueued
   * hours before it is read; `held`: live, but each batch delivered up to `holds` ms after its
   * events were enqueued, the intake knowing of the hub only what it has handed over (an Event
   * Hubs consumer learns the newest sequence number with its deliveries), so it counts a
   * partition caught up while events are held back.
   */
  readonly timing: 'live' | 'late' | 'held';
  readonly holds?: readonly number[];
}

/** The identity of an alert as the alerts queue carries it, and what it says. */
const keyOf = (a: { eventToken: string; readingType: string; ruleOutput: string }): string => `${a.eventToken}|${a.readingType}|${a.ruleOutput}`;

interface AlertFacts {
  readonly deviceId: string;
  readonly readingType: string;
  readonly reading: number;
  readonly ruleOutput: string;
  readonly eventToken: string;
  readonly time: number;
}

/** Plays the hub and the process around the ingest; returns the alerts that reached the alerts queue, by identity. */
async function ingestRun(recording: Recording, rules: RulesFile, schedule: Schedule): Promise<{ alerts: Map<string, AlertFacts>; end: number }> {
  const alertsQueue = new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 7 * 24 * 3_600_000 });
  const ruleStateStore = new InMemoryRuleStateStore();
  const statusStore = new InMemoryStatusStore();
  const { envelopes } = recording;
  const lastTime = envelopes.at(-1)!.enqueuedTime;
  let now = T;
  const clock = { now: () => now };
  // What the hub holds per partition: in the live run only what has been enqueued by now.
  const handedOver = new Map<string, number>();
  const enqueued = (partitionId: string): number => {
    if (schedule.timing === 'held') return handedOver.get(partitionId) ?? -1;
    let newest = -1;
    for (const e of envelopes)
      if (e.partitionId === partitionId && (schedule.timing === 'late' || e.enqueuedTime <= now)) newest = Math.max(newest, e.sequenceNumber);
    return newest;
  };
  const marks = new Map<string, number>();
  const contexts = ['0', '1'].map((partitionId): TelemetryPartitionContext => ({
    partitionId,
    checkpoint: async (through) => void marks.set(partitionId, Math.max(marks.get(partitionId) ?? -1, through.sequenceNumber)),
    lastEnqueuedSequenceNumber: () => enqueued(partitionId),
  }));
  const start = (): TelemetryIngest =>
    new TelemetryIngest({
      referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
      alertsQueue,
      rejected: new InMemoryRejectedTelemetry(),
      statusStore,
      ruleStateStore,
      log: silentLog,
      defaultDeviceType: 'Thermostat',
      // Only the schedule's commits and ticks commit.
      commitIntervalMs: 3_600_000 * 24 * 365,
      clock,
      lateArrivalMs: LATE_ARRIVAL_MS,
      ...(rules.kind === 'native' ? { evaluator: new RulesEngineEvaluator(rules.ruleSet) } : {}),
    });

  // The hub's batches: one partition each, in the order the events were enqueued.
  const batches: TelemetryEnvelope[][] = [];
  let current: TelemetryEnvelope[] = [];
  for (const envelope of envelopes) {
    if (current.length > 0 && (current.length >= schedule.sizes[batches.length % schedule.sizes.length]! || current[0]!.partitionId !== envelope.partitionId)) {
      batches.push(current);
      current = [];
    }
    current.push(envelope);
  }
  batches.push(current);

  let ingest = start();
  const restarted = new Set<number>();
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i]!;
    // Live, a batch is read a moment after its last event was enqueued; late, hours after the whole stream was.
    const hold = schedule.timing === 'held' ? schedule.holds![i % schedule.holds!.length]! : 200;
    now = schedule.timing === 'late' ? lastTime + HOURS_LATE + i * 1_000 : Math.max(now, batch.at(-1)!.enqueuedTime + hold);
    await ingest.ingestBatch(batch, contexts[Number(batch[0]!.partitionId)]);
    handedOver.set(batch[0]!.partitionId, Math.max(handedOver.get(batch[0]!.partitionId) ?? -1, batch.at(-1)!.sequenceNumber));
    const between = schedule.between[i % schedule.between.length]!;
    if (between === 'commit') await ingest.flush();
    if (between === 'tick') {
      await ingest.advanceIdle(contexts);
      await ingest.commitDue();
    }
    if (between === 'restart' && !restarted.has(i)) {
      restarted.add(i);
      // A new process over the same stores: the hub hands again what follows each partition's checkpoint.
      ingest = start();
      const resume = batches.findIndex((b) => b.at(-1)!.sequenceNumber > (marks.get(b[0]!.partitionId) ?? -1));
      i = (resume < 0 ? batches.length : resume) - 1;
    }
  }
  // The stream is over and everything enqueued has been read: idle time moves every partition on.
  now = schedule.timing === 'late' ? lastTime + HOURS_LATE + 120_000 : lastTime + 120_000;
  await ingest.advanceIdle(contexts);
  await ingest.flush();

  const alerts = new Map<string, AlertFacts>();
  for (const message of await alertsQueue.receive({ maxMessages: 10_000, maxWaitMs: 0 })) {
    const decoded = decodeCfsAlertMessage(message.body);
    if (!decoded.ok) throw new Error(JSON.stringify(decoded.error));
    for (const { alert } of decoded.value)
      alerts.set(keyOf(alert), {
        deviceId: alert.deviceId,
        readingType: alert.readingType,
        reading: alert.reading,
        ruleOutput: alert.ruleOutput,
        eventToken: alert.eventToken,
        time: alert.time,
      });
  }
  return { alerts, end: now - LATE_ARRIVAL_MS };
}

async function offlineRun(recording: Recording, rules: RulesFile, until: number): Promise<Map<string, AlertFacts>> {
  const run = await runRulesOffline(rules, recording.lines, { deviceType: 'Thermostat', until });
  const alerts = new Map<string, AlertFacts>();
  for (const a of run.alerts) {
    // The alerts queue names an absence rule's alert, which watches no reading, `Message`.
    const facts = {
      deviceId: a.deviceId,
      readingType: a.readingType === '' ? 'Message' : a.readingType,
      reading: a.reading,
      ruleOutput: a.ruleOutput,
      eventToken: a.eventToken,
      time: Date.parse(a.time),
    };
    alerts.set(keyOf(facts), facts);
  }
  return alerts;
}

const sorted = (alerts: Map<string, AlertFacts>) => [...alerts].sort(([a], [b]) => a.localeCompare(b));

describe('TelemetryIngest on event time (property)', () => {
  it('property: any recorded stream, split into any batches, with commits, restarts and idle ticks anywhere, processed live or hours late, gives the same alerts as the offline evaluation of `fieldlink rules test` on the same recording', async () => {
    await fc.assert(
      fc.asyncProperty(
        recordingArbitrary,
        fc.constantFrom<RulesKind>('cfs', 'native'),
        sizesArbitrary,
        betweenArbitrary,
        fc.constantFrom<Schedule['timing']>('live', 'late'),
        async (recording, kind, sizes, between, timing) => {
          const rules = rulesOf(kind);
          const ingested = await ingestRun(recording, rules, { sizes, between, timing });
          // Offline, event time ends where the ingest's watermark stands once the stream is read and idle time has passed.
          const reference = await offlineRun(recording, rules, ingested.end);
          expect(sorted(ingested.alerts)).toEqual(sorted(reference));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: in CFS mode, with deliveries held back up to two minutes while the intake counts its partitions caught up and idle time runs on, any batching, commits and restarts give the same alerts as the offline evaluation', async () => {
    await fc.assert(
      fc.asyncProperty(
        recordingArbitrary,
        sizesArbitrary,
        betweenArbitrary,
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 40, maxLength: 40 }),
        async (recording, sizes, between, holds) => {
          const rules = rulesOf('cfs');
          const ingested = await ingestRun(recording, rules, { sizes, between, timing: 'held', holds });
          const reference = await offlineRun(recording, rules, ingested.end);
          expect(sorted(ingested.alerts)).toEqual(sorted(reference));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('replaying an hour-old backlog keeps the one-minute suppression: a reading over the threshold 30 s after another raises none, one 61 s after raises again, however late it is read and however often the clock ticks', async () => {
    const recording: Recording = {
      lines: [],
      envelopes: [0, 30_000, 91_000].map((offset, i) => ({
        body: new TextEncoder().encode(JSON.stringify({ DeviceID: 'thermostat-1', EventToken: `e${i}`, Temperature: 86 })),
        connectionDeviceId: 'thermostat-1',
        enqueuedTime: T + offset,
        partitionId: '1',
        sequenceNumber: i,
      })),
    };
    const { alerts } = await ingestRun(recording, rulesOf('cfs'), { sizes: [1], between: ['tick'], timing: 'late' });
    expect([...alerts.values()].map((a) => a.eventToken).sort()).toEqual(['e0', 'e2']);
  });
});

/**
 * A rule state store as Blob storage keeps one for each instance (`BlobRuleStateStore`): a save
 * is conditional on the version this instance last read or wrote of the key, so it refuses to
 * overwrite what another instance saved since.
 */
class VersionedStores {
  private readonly storage = new Map<string, { version: number; json: string }>();

  forInstance(): RuleStateStorePort {
    const known = new Map<string, number>();
    return {
      load: async (key) => {
        const stored = this.storage.get(key);
        known.set(key, stored?.version ?? 0);
        return stored === undefined ? undefined : (JSON.parse(stored.json) as unknown);
      },
      save: async (key, snapshot) => {
        const current = this.storage.get(key)?.version ?? 0;
        const seen = known.get(key);
        if (seen !== undefined && seen !== current) throw RuleStateError.conflict(key);
        this.storage.set(key, { version: current + 1, json: JSON.stringify(snapshot) });
        known.set(key, current + 1);
      },
    };
  }
}

type TwoInstanceStep = { readonly op: 'read' | 'commit' | 'claim'; readonly instance: 0 | 1; readonly size: number };
const twoInstanceStepArbitrary: fc.Arbitrary<TwoInstanceStep> = fc.record({
  op: fc.constantFrom<TwoInstanceStep['op']>('read', 'read', 'read', 'commit', 'commit', 'claim'),
  instance: fc.constantFrom<0 | 1>(0, 1),
  size: fc.integer({ min: 1, max: 2 }),
});

/** One partition's readings, dense in repeats of the same reading within the minute, where the suppression memory decides. */
const partitionRecordingArbitrary: fc.Arbitrary<Recording> = fc
  .array(
    fc.record({
      device: fc.constantFrom('thermostat-1', 'thermostat-3'),
      gapMs: fc.integer({ min: 0, max: 30_000 }),
      temperature: fc.constantFrom(60, 72, 86),
    }),
    {
      minLength: 1,
      maxLength: 40,
    },
  )
  .map((steps) => {
    let time = T;
    const lines: string[] = [];
    const envelopes: TelemetryEnvelope[] = [];
    steps.forEach((s, i) => {
      time += s.gapMs;
      const message = { DeviceID: s.device, EventToken: `e${i}`, Temperature: s.temperature };
      envelopes.push({
        body: new TextEncoder().encode(JSON.stringify(message)),
        connectionDeviceId: s.device,
        enqueuedTime: time,
        partitionId: '0',
        sequenceNumber: i,
      });
      lines.push(JSON.stringify({ ...message, EventEnqueuedUtcTime: new Date(time).toISOString() }));
    });
    return { lines, envelopes };
  });

describe('TelemetryIngest with two instances reading one partition (property)', () => {
  it('property: in CFS mode, two instances that each claim, read and commit one partition in any interleaving (its ownership moving while both still read) raise exactly the alerts of the offline evaluation, none other', async () => {
    await fc.assert(
      fc.asyncProperty(
        partitionRecordingArbitrary,
        fc.array(twoInstanceStepArbitrary, { minLength: 1, maxLength: 60 }),
        async ({ envelopes, lines }, steps) => {
          const alertsQueue = new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 7 * 24 * 3_600_000 });
          const stores = new VersionedStores();
          const statusStore = new InMemoryStatusStore();
          let mark = -1;
          const instances = [0, 1].map(() => ({
            ingest: new TelemetryIngest({
              referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
              alertsQueue,
              rejected: new InMemoryRejectedTelemetry(),
              statusStore,
              ruleStateStore: stores.forInstance(),
              log: silentLog,
              defaultDeviceType: 'Thermostat',
              commitIntervalMs: 3_600_000 * 24 * 365,
            }),
            claim: undefined as TelemetryPartitionContext | undefined,
            position: 0,
          }));
          // A claim reads from the consumer group's checkpoint, with a context of its own.
          const claim = (x: (typeof instances)[number]): void => {
            x.claim = { partitionId: '0', checkpoint: async (through) => void (mark = Math.max(mark, through.sequenceNumber)) };
            x.position = mark + 1;
          };
          // A failed batch is handed again; a failed commit is tried again later.
          const read = async (x: (typeof instances)[number], size: number): Promise<void> => {
            if (x.claim === undefined || x.position >= envelopes.length) return;
            const batch = envelopes.slice(x.position, x.position + size);
            const handled = await x.ingest.handleBatch(batch, x.claim).then(
              () => true,
              () => false,
            );
            if (handled) x.position += batch.length;
          };
          // Both claim it at first: the ownership is moving.
          claim(instances[0]!);
          claim(instances[1]!);
          for (const step of steps) {
            const x = instances[step.instance]!;
            if (step.op === 'claim') claim(x);
            if (step.op === 'read') await read(x, step.size);
            if (step.op === 'commit') await x.ingest.flush().catch(() => undefined);
          }
          // In the end one instance claims the partition once more and reads it to its end.
          const last = instances[0]!;
          claim(last);
          for (let tries = 0; last.position < envelopes.length && tries < 10 * envelopes.length + 10; tries++) await read(last, 4);
          expect(last.position).toBe(envelopes.length);

          const raised = new Set<string>();
          for (const message of await alertsQueue.receive({ maxMessages: 10_000, maxWaitMs: 0 })) {
            const decoded = decodeCfsAlertMessage(message.body);
            if (!decoded.ok) throw new Error(JSON.stringify(decoded.error));
            for (const { alert } of decoded.value) raised.add(keyOf(alert));
          }
          const offline = await runRulesOffline(rulesOf('cfs'), lines, { deviceType: 'Thermostat' });
          expect([...raised].sort()).toEqual([...new Set(offline.alerts.map(keyOf))].sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});
