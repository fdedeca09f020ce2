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
import { PartitionStateJournal } from './partition-state-journal.js';
import { PartitionStates, type PartitionBatch, type PartitionState } from './partition-state.js';
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
  /** Where each partition's state is saved with every batch (see `PartitionStateJournal`); without it, state lives in this process only. */
  readonly ruleStateStore?: RuleStateStorePort;
  /** The most batches that store only their changes (journal entries) between two that store the whole state (checkpoints); 1,000 by default. */
  readonly maxJournalEntries?: number;
  /** The rules engine; CFS mode (the CFS alert query, exactly) by default. */
  readonly evaluator?: RuleEvaluator<unknown>;
  /** How late (event time) a reading may come and still count in its minute; Stream Analytics accepts 5 s. */
  readonly lateArrivalMs?: number;
  /** Prefix of the rule-state keys, so two ingest jobs on one store do not meet. */
  readonly stateKeyPrefix?: string;
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
 * intake gives it again. A batch works on a view of its partition's state and stores only what it
 * changed, so its cost follows its own size, not the number of devices. The batches and time
 * advances of one partition run one at a time.
 */
export class TelemetryIngest {
  private readonly evaluator: RuleEvaluator<unknown>;
  private readonly states: PartitionStates;
  private readonly journal: PartitionStateJournal | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  /** The last piece of work queued per partition, so the next one starts after it. */
  private readonly queued = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TelemetryIngestDeps) {
    this.evaluator = deps.evaluator ?? new CfsRuleEvaluator();
    this.states = new PartitionStates(this.evaluator);
    this.journal = deps.ruleStateStore === undefined ? undefined : new PartitionStateJournal(deps.ruleStateStore, this.states, this.evaluator.name, deps.log, deps.stateKeyPrefix ?? 'telemetry-ingest', deps.maxJournalEntries);
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
      const outcome = await this.inTurn(partitionId, () => this.handlePartitionBatch(partitionId, envelopes));
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
    const working = this.states.begin(committed);
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
    await this.journal?.save(partitionId, committed, working);
    this.states.commit(committed, working);
    return { alerts, rejected: rejects.length, skipped };
  }

  /**
   * Lets event time pass without a reading (run on a timer): alerts that time alone raises (an
   * absence, a window's end) leave for every partition this ingest holds. CFS mode raises none.
   */
  async advanceTime(now: number): Promise<ThresholdAlert[]> {
    const raised: ThresholdAlert[] = [];
    for (const partitionId of [...this.partitions.keys()]) {
      const alerts = await this.inTurn(partitionId, async () => {
        const committed = this.partitions.get(partitionId)!;
        if (!(now > committed.latestTime)) return [];
        const working = this.states.begin(committed);
        working.latestTime = now;
        const timed = this.evaluator.advance(working.rules, now);
        if (timed.length > 0) await this.deps.alertsQueue.send(alertMessages(timed));
        for (const alert of timed) this.deps.log.info('alert.raised', { correlationId: alert.eventToken, deviceId: alert.deviceId, readingType: alert.readingType, reading: alert.reading, ruleOutput: alert.ruleOutput });
        await this.journal?.save(partitionId, committed, working);
        this.states.commit(committed, working);
        return timed;
      });
      raised.push(...alerts);
    }
    return raised;
  }

  /** Runs `work` once the partition's earlier work has settled, so two never interleave on one partition's state. */
  private inTurn<T>(partitionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queued.get(partitionId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queued.set(partitionId, settled);
    void settled.then(() => {
      if (this.queued.get(partitionId) === settled) this.queued.delete(partitionId);
    });
    return next;
  }

  private record(working: PartitionBatch, touched: Set<string>, health: Map<string, DeviceHealth>, event: TelemetryEvent): void {
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

  /** The partition's committed state: known in this process, else restored from the store, else fresh. */
  private async partitionState(partitionId: string): Promise<PartitionState> {
    const known = this.partitions.get(partitionId);
    if (known !== undefined) return known;
    const state = (await this.journal?.load(partitionId)) ?? this.states.fresh();
    this.partitions.set(partitionId, state);
    return state;
  }

  private async rulesAt(at: number): Promise<readonly CfsThresholdRule[]> {
    return this.deps.referenceData.deviceRules(at);
  }

  private async deviceTypeOf(deviceId: string): Promise<string> {
    return (await this.deps.referenceData.deviceTypeOf(deviceId)) ?? this.deps.defaultDeviceType;
  }
}

/** One queue message per event token: the token is the message id the alerts queue de-duplicates on. */
function alertMessages(alerts: readonly ThresholdAlert[]): QueueMessage[] {
  const byToken = new Map<string, ThresholdAlert[]>();
  for (const a of alerts) byToken.set(a.eventToken, [...(byToken.get(a.eventToken) ?? []), a]);
  return [...byToken].map(([token, list]) => ({ messageId: token, body: encodeCfsAlertMessage(list), contentType: 'application/json', correlationId: token }));
}
