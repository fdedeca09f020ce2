import { describeIssues, type CfsThresholdRule, type TelemetryEvent, type ThresholdAlert } from '@fieldlink/domain';
import {
  decodeTelemetry,
  encodeCfsAlertMessage,
  type DeviceHealth,
  type LogPort,
  type MessageQueuePort,
  type MinuteAggregate,
  type QueueMessage,
  type ReferenceDataPort,
  type RejectedTelemetry,
  type RejectedTelemetryPort,
  type RuleStateStorePort,
  type StatusStorePort,
  type TelemetryEnvelope,
} from '@fieldlink/ports';
import { MinuteAggregates } from './minute-aggregates.js';
import { CfsRuleEvaluator, type RuleEvaluator } from './rule-evaluator.js';

export interface TelemetryIngestDeps {
  readonly referenceData: ReferenceDataPort;
  readonly alertsQueue: MessageQueuePort;
  readonly rejected: RejectedTelemetryPort;
  readonly log: LogPort;
  /** The device type assumed for a device the metadata does not know (CFS joins on 'Thermostat'). */
  readonly defaultDeviceType: string;
  /** Per-minute aggregates and device health (flow 5); without it, ingest only raises alerts. */
  readonly statusStore?: StatusStorePort;
  /** Where each partition's rule state is saved after every batch; without it, state lives in this process only. */
  readonly ruleStateStore?: RuleStateStorePort;
  /** The rules engine; CFS mode (the CFS alert query, exactly) by default. */
  readonly evaluator?: RuleEvaluator<unknown>;
  /** How late (event time) a reading may come and still count in its minute; Stream Analytics accepts 5 s. */
  readonly lateArrivalMs?: number;
  /** Prefix of the rule-state keys, so two ingest jobs on one store do not meet. */
  readonly stateKeyPrefix?: string;
}

const SNAPSHOT_FORMAT = 'fieldlink.telemetry-ingest/1';

/**
 * What ingest remembers per telemetry partition: how far it got, the rule state, the open minute
 * windows and each device's last value of every reading type.
 */
interface PartitionState<S> {
  lastSequence: number;
  latestTime: number;
  rules: S;
  aggregates: MinuteAggregates;
  /**
   * Kept here, not only in the batch: the health row is written whole, so a batch holding only a
   * heartbeat (no readings) would otherwise blank the readings of an earlier batch.
   */
  lastReadings: Map<string, Readonly<Record<string, number>>>;
}

export interface BatchOutcome {
  readonly alerts: readonly ThresholdAlert[];
  readonly rejected: number;
  /** Events at or before the partition's position (sequence number): read again, already processed. */
  readonly skipped: number;
}

/**
 * Flows 3 → 6 and 5: each device-to-cloud message is decoded, checked against the device rules in
 * force at its enqueued time, and every alert it raises goes to the alerts queue in the CFS shape
 * (message id = event token, so the queue's duplicate detection drops a re-sent alert). The
 * per-minute aggregates and device health go to the status store, and the partition's rule state
 * is saved, all before the batch handler resolves (and so before the intake checkpoints): a
 * restart resumes where the last saved batch ended. A message that cannot be read is kept with
 * its reason, never dropped. A batch that fails half way changes no committed state, and the
 * intake gives it again.
 */
export class TelemetryIngest {
  private readonly evaluator: RuleEvaluator<unknown>;
  private readonly partitions = new Map<string, PartitionState<unknown>>();

  constructor(private readonly deps: TelemetryIngestDeps) {
    this.evaluator = deps.evaluator ?? new CfsRuleEvaluator();
  }

  /** A `TelemetryBatchHandler`: resolves once every effect of the batch is stored. */
  async handleBatch(batch: readonly TelemetryEnvelope[]): Promise<void> {
    await this.ingestBatch(batch);
  }

  /** The same, telling what the batch raised, rejected and skipped. */
  async ingestBatch(batch: readonly TelemetryEnvelope[]): Promise<BatchOutcome> {
    const byPartition = new Map<string, TelemetryEnvelope[]>();
    for (const envelope of batch) {
      const list = byPartition.get(envelope.partitionId) ?? [];
      list.push(envelope);
      byPartition.set(envelope.partitionId, list);
    }
    const alerts: ThresholdAlert[] = [];
    let rejected = 0;
    let skipped = 0;
    for (const [partitionId, envelopes] of byPartition) {
      const outcome = await this.handlePartitionBatch(partitionId, envelopes);
      alerts.push(...outcome.alerts);
      rejected += outcome.rejected;
      skipped += outcome.skipped;
    }
    return { alerts, rejected, skipped };
  }

  /** One message on its own (a batch of one); sequence numbers must still increase per partition. */
  async handle(envelope: TelemetryEnvelope): Promise<ThresholdAlert[]> {
    return [...(await this.ingestBatch([envelope])).alerts];
  }

  private async handlePartitionBatch(partitionId: string, envelopes: readonly TelemetryEnvelope[]): Promise<BatchOutcome> {
    const committed = await this.partitionState(partitionId);
    const working = this.workingCopy(committed);
    const messages: QueueMessage[] = [];
    const alerts: ThresholdAlert[] = [];
    const rejects: RejectedTelemetry[] = [];
    const health = new Map<string, DeviceHealth>();
    const touchedWindows = new Set<string>();
    let skipped = 0;

    for (const envelope of envelopes) {
      if (envelope.sequenceNumber <= working.lastSequence) {
        skipped++;
        continue;
      }
      working.lastSequence = envelope.sequenceNumber;
      working.latestTime = Math.max(working.latestTime, envelope.enqueuedTime);
      const decoded = decodeTelemetry(envelope.body, envelope.enqueuedTime);
      if (!decoded.ok) {
        rejects.push({ envelope, reason: 'InvalidTelemetry', description: describeIssues(decoded.error) });
        continue;
      }
      const event = decoded.value;
      const raised = this.evaluator.evaluate(working.rules, event, await this.deviceTypeOf(event.deviceId), await this.rulesAt(event.enqueuedTime));
      if (raised.length > 0) {
        alerts.push(...raised);
        messages.push({ messageId: event.eventToken, body: encodeCfsAlertMessage(raised), contentType: 'application/json', correlationId: event.eventToken });
      }
      if (this.deps.statusStore !== undefined) this.record(working, touchedWindows, health, event);
    }

    // Time alone may raise alerts too (a window ending, a silence), with tokens made of rule, device and time.
    const timed = this.evaluator.advance(working.rules, working.latestTime);
    if (timed.length > 0) {
      alerts.push(...timed);
      messages.push(...alertMessages(timed));
    }

    // Effects first, the partition's position last: whatever fails before the save is done again.
    if (messages.length > 0) await this.deps.alertsQueue.send(messages);
    for (const alert of alerts) {
      this.deps.log.info('alert.raised', { correlationId: alert.eventToken, deviceId: alert.deviceId, readingType: alert.readingType, reading: alert.reading, threshold: alert.threshold, ruleOutput: alert.ruleOutput });
    }
    if (this.deps.statusStore !== undefined) {
      const rows = [...touchedWindows].map((k) => working.aggregates.row(k)).filter((r): r is MinuteAggregate => r !== undefined);
      if (rows.length > 0) await this.deps.statusStore.writeAggregates(rows);
      for (const h of health.values()) await this.deps.statusStore.upsertDeviceHealth(h);
    }
    for (const r of rejects) {
      await this.deps.rejected.reject(r);
      this.deps.log.warn('telemetry.rejected', { deviceId: r.envelope.connectionDeviceId, reason: r.reason, description: r.description });
    }
    working.aggregates.close(working.latestTime, this.deps.lateArrivalMs ?? 5_000);
    if (this.deps.ruleStateStore !== undefined) await this.deps.ruleStateStore.save(this.stateKey(partitionId), this.toSnapshot(working));
    this.partitions.set(partitionId, working);
    return { alerts, rejected: rejects.length, skipped };
  }

  /**
   * Lets event time pass without a reading (run on a timer): alerts that time alone raises (an
   * absence, a window's end) leave for every partition this ingest holds. CFS mode raises none.
   */
  async advanceTime(now: number): Promise<ThresholdAlert[]> {
    const raised: ThresholdAlert[] = [];
    for (const [partitionId, committed] of this.partitions) {
      if (!(now > committed.latestTime)) continue;
      const working = { ...this.workingCopy(committed), latestTime: now };
      const alerts = this.evaluator.advance(working.rules, now);
      if (alerts.length > 0) await this.deps.alertsQueue.send(alertMessages(alerts));
      for (const alert of alerts) this.deps.log.info('alert.raised', { correlationId: alert.eventToken, deviceId: alert.deviceId, readingType: alert.readingType, reading: alert.reading, ruleOutput: alert.ruleOutput });
      if (this.deps.ruleStateStore !== undefined) await this.deps.ruleStateStore.save(this.stateKey(partitionId), this.toSnapshot(working));
      this.partitions.set(partitionId, working);
      raised.push(...alerts);
    }
    return raised;
  }

  /** A copy a batch can change and throw away: the committed state changes only once the batch's effects are stored. */
  private workingCopy(committed: PartitionState<unknown>): PartitionState<unknown> {
    return { lastSequence: committed.lastSequence, latestTime: committed.latestTime, rules: this.evaluator.copy(committed.rules), aggregates: committed.aggregates.copy(), lastReadings: new Map(committed.lastReadings) };
  }

  private record(working: PartitionState<unknown>, touched: Set<string>, health: Map<string, DeviceHealth>, event: TelemetryEvent): void {
    for (const [readingType, value] of Object.entries(event.readings)) {
      const key = working.aggregates.add(event.deviceId, readingType, value, event.enqueuedTime);
      if (key !== undefined) touched.add(key);
      else this.deps.log.warn('telemetry.too-late-for-aggregate', { correlationId: event.eventToken, deviceId: event.deviceId, readingType });
    }
    const lastReadings = { ...working.lastReadings.get(event.deviceId), ...event.readings };
    working.lastReadings.set(event.deviceId, lastReadings);
    const previous = health.get(event.deviceId);
    health.set(event.deviceId, {
      deviceId: event.deviceId,
      lastActivityTime: Math.max(previous?.lastActivityTime ?? Number.NEGATIVE_INFINITY, event.enqueuedTime),
      online: true,
      lastReadings,
    });
  }

  private async partitionState(partitionId: string): Promise<PartitionState<unknown>> {
    const known = this.partitions.get(partitionId);
    if (known !== undefined) return known;
    const fresh = { lastSequence: -1, latestTime: 0, rules: this.evaluator.initialState(), aggregates: new MinuteAggregates(), lastReadings: new Map() };
    if (this.deps.ruleStateStore === undefined) return fresh;
    const snapshot = await this.deps.ruleStateStore.load(this.stateKey(partitionId));
    if (snapshot === undefined) return fresh;
    const restored = this.fromSnapshot(snapshot);
    if (restored === undefined) {
      this.deps.log.error('ingest.state-unreadable', { partitionId, key: this.stateKey(partitionId) });
      return fresh;
    }
    this.deps.log.info('ingest.state-restored', { partitionId, lastSequence: restored.lastSequence });
    return restored;
  }

  private stateKey(partitionId: string): string {
    return `${this.deps.stateKeyPrefix ?? 'telemetry-ingest'}/${partitionId}`;
  }

  private toSnapshot(state: PartitionState<unknown>): unknown {
    return {
      format: SNAPSHOT_FORMAT,
      evaluator: this.evaluator.name,
      lastSequence: state.lastSequence,
      latestTime: state.latestTime,
      rules: this.evaluator.toSnapshot(state.rules),
      aggregates: state.aggregates.toSnapshot(),
      lastReadings: Object.fromEntries(state.lastReadings),
    };
  }

  private fromSnapshot(snapshot: unknown): PartitionState<unknown> | undefined {
    if (typeof snapshot !== 'object' || snapshot === null) return undefined;
    const s = snapshot as Record<string, unknown>;
    if (s['format'] !== SNAPSHOT_FORMAT || s['evaluator'] !== this.evaluator.name || typeof s['lastSequence'] !== 'number' || typeof s['latestTime'] !== 'number') return undefined;
    const rules = this.evaluator.fromSnapshot(s['rules']);
    const aggregates = MinuteAggregates.fromSnapshot(s['aggregates']);
    // A snapshot saved before last readings were kept has none: they fill again with the next readings.
    const lastReadings = s['lastReadings'] === undefined ? new Map<string, Record<string, number>>() : lastReadingsFromSnapshot(s['lastReadings']);
    if (rules === undefined || aggregates === undefined || lastReadings === undefined) return undefined;
    return { lastSequence: s['lastSequence'], latestTime: s['latestTime'], rules, aggregates, lastReadings };
  }

  private async rulesAt(at: number): Promise<readonly CfsThresholdRule[]> {
    return this.deps.referenceData.deviceRules(at);
  }

  private async deviceTypeOf(deviceId: string): Promise<string> {
    return (await this.deps.referenceData.deviceTypeOf(deviceId)) ?? this.deps.defaultDeviceType;
  }
}

function lastReadingsFromSnapshot(snapshot: unknown): Map<string, Record<string, number>> | undefined {
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) return undefined;
  const map = new Map<string, Record<string, number>>();
  for (const [deviceId, readings] of Object.entries(snapshot)) {
    if (typeof readings !== 'object' || readings === null || Array.isArray(readings)) return undefined;
    if (!Object.values(readings).every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    map.set(deviceId, { ...(readings as Record<string, number>) });
  }
  return map;
}

/** One queue message per event token: the token is the message id the alerts queue de-duplicates on. */
function alertMessages(alerts: readonly ThresholdAlert[]): QueueMessage[] {
  const byToken = new Map<string, ThresholdAlert[]>();
  for (const a of alerts) byToken.set(a.eventToken, [...(byToken.get(a.eventToken) ?? []), a]);
  return [...byToken].map(([token, list]) => ({ messageId: token, body: encodeCfsAlertMessage(list), contentType: 'application/json', correlationId: token }));
}
