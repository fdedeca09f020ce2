// Flows 3–6 (ingest): the stream processor, telemetry to rules, per-minute aggregates, device health and alerts.
import { describeIssues, type TelemetryEvent, type ThresholdAlert } from '@fieldlink/domain';
import {
  decodeTelemetry,
  encodeCfsAlertMessage,
  isRuleStateConflict,
  lookUpEach,
  type ReferenceOfEach,
  type ClockPort,
  type IdPort,
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
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscription,
} from '@fieldlink/ports';
import { COMMIT_SLICE, PartitionStateJournal, yieldToBatches } from './state/partition-state-journal.js';
import { systemClock } from '../shared/system-sources.js';
import { every, twoTurns } from '../shared/timers.js';
import { changedWindows, PartitionState, type CommitCut, type DeviceAtCut, type MinuteWindow } from './state/partition-state.js';
import { CfsRuleEvaluator, type RuleEvaluator } from './rule-evaluator.js';

export interface TelemetryIngestDeps {
  readonly referenceData: ReferenceDataPort;
  readonly alertsQueue: Pick<MessageQueuePort, 'send'>;
  readonly rejected: Pick<RejectedTelemetryPort, 'reject'>;
  readonly log: LogPort;
  /** The device type assumed for a device the metadata does not know (CFS joins on 'Thermostat'). */
  readonly defaultDeviceType: string;
  /** Per-minute aggregates and device health (flow 5); without it, ingest only raises alerts. */
  readonly statusStore?: Pick<StatusStorePort, 'writeAggregates' | 'upsertDeviceHealth' | 'upsertManyDeviceHealth'>;
  /** Where each partition's state is saved at every commit (see `PartitionStateJournal`); without it, state lives in this process only. */
  readonly ruleStateStore?: RuleStateStorePort;
  /** The most commits that store only their changes (journal entries) between two that store the whole state (checkpoints); 1,000 by default. */
  readonly maxJournalEntries?: number;
  /** Windows, and devices, per stored part of a checkpoint or journal entry; 500 by default. */
  readonly recordsPerPart?: number;
  /**
   * How often a partition commits: writes the aggregate rows and health changed since the last
   * commit, saves its state, and marks the intake's checkpoint. 1,000 ms by default; 0 commits
   * with every batch. Alerts never wait for a commit.
   */
  readonly commitIntervalMs?: number;
  /** Tells when the last commit was; the system clock by default. */
  readonly clock?: ClockPort;
  /** The epoch of each new checkpoint of the partition state (see `PartitionStateJournal`); random GUIDs by default. */
  readonly ids?: IdPort;
  /** The rules engine; CFS mode (the CFS alert query, exactly) by default. */
  readonly evaluator?: RuleEvaluator<unknown>;
  /** How late (event time) a reading may come and still count in its minute; Stream Analytics accepts 5 s. */
  readonly lateArrivalMs?: number;
  /** Prefix of the rule-state keys, so two ingest jobs on one store do not meet. */
  readonly stateKeyPrefix?: string;
  /**
   * Stores a batch's effects (when it has any) before its state takes the batch in:
   * `storeBatchEffects` over the ports above by default. Ingest on a worker thread hands them to
   * the main thread in one message.
   */
  readonly storeEffects?: (effects: BatchEffects) => Promise<void>;
}

/** What a batch leaves behind, stored before its state takes it in (see `storeBatchEffects`). */
export interface BatchEffects {
  readonly partitionId: string;
  /** The batch's last envelope: the state takes the batch in through it. */
  readonly through: TelemetryEnvelope;
  /** One alerts-queue message per event that raised alerts (and per token of time's alerts). */
  readonly messages: readonly QueueMessage[];
  readonly rejects: readonly RejectedTelemetry[];
  /** What the batch's handler tells once the state took it in; its alerts are logged with the effects. */
  readonly outcome: BatchOutcome;
  /** Whether the handler waits for a commit after the effects (every batch commits, or the last commit failed). */
  readonly answerAfterCommit: boolean;
}

/** Stores a batch's effects through the ports: its alert messages, its log lines, its rejected messages. */
export async function storeBatchEffects(
  deps: Pick<TelemetryIngestDeps, 'alertsQueue' | 'rejected' | 'log'>,
  effects: Pick<BatchEffects, 'messages' | 'rejects' | 'outcome'>,
): Promise<void> {
  if (effects.messages.length > 0) await deps.alertsQueue.send(effects.messages);
  for (const alert of effects.outcome.alerts) {
    deps.log.info('alert.raised', {
      correlationId: alert.eventToken,
      deviceId: alert.deviceId,
      readingType: alert.readingType,
      reading: alert.reading,
      threshold: alert.threshold,
      ruleOutput: alert.ruleOutput,
    });
  }
  for (const r of effects.rejects) {
    await deps.rejected.reject(r);
    deps.log.warn('telemetry.rejected', { deviceId: r.envelope.connectionDeviceId, reason: r.reason, description: r.description });
  }
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
 * (message id = event token, so the queue's duplicate detection drops a re-sent alert) before the
 * batch's handler resolves. Each device's per-minute aggregates, last readings and activity grow
 * in memory; every `commitIntervalMs` a partition commits: the rows and health of the devices
 * changed since the last commit go to the status store, then the partition's state (position,
 * rule state, open windows) is saved, then the intake's checkpoint is marked through the last
 * message that state covers. A restart restores the saved state and the intake hands again what
 * followed it; messages at or before the saved position are skipped, and what is read again gives
 * the same alerts (dropped as duplicates), rows and health (upserted), so nothing is lost or
 * counted twice. A message that cannot be read is kept with its reason, never dropped. A batch
 * whose effects fail changes no state, and the intake gives it again; a commit that fails keeps
 * its changes for the next one. The batches and time advances of one partition run one at a time;
 * its commits run one at a time too, beside them, from a cut (see `PartitionState`).
 */
export class TelemetryIngest {
  private readonly evaluator: RuleEvaluator<unknown>;
  private readonly journal: PartitionStateJournal | undefined;
  private readonly clock: ClockPort;
  private readonly commitIntervalMs: number;
  private readonly lateArrivalMs: number;
  /** How often `subscribe`'s timer commits what is due and lets idle partitions' time move. */
  private readonly tickMs: number;
  private readonly partitions = new Map<string, PartitionState>();
  /** The context each partition's latest batch came with: where its checkpoint is marked. */
  private readonly contexts = new Map<string, TelemetryPartitionContext>();
  /** Each partition's turn: its work one piece after the other. */
  private readonly queued = new Map<string, PartitionTurn>();
  /** The commit running or queued per partition: commits of one partition run one at a time, beside its batches. */
  private readonly commits = new Map<string, Promise<void>>();
  /** Partitions whose last commit failed: their next batch waits for a commit, so the intake slows down instead of the changes piling up. */
  private readonly failedCommits = new Set<string>();
  /** Partitions whose last commit another instance's save refused, with why: settled in their next turn (`settleConflict`). */
  private readonly conflicts = new Map<string, string>();
  /** Partitions whose saved state `advanceIdle` has looked for already. */
  private readonly restoreTried = new Set<string>();

  constructor(private readonly deps: TelemetryIngestDeps) {
    this.evaluator = deps.evaluator ?? new CfsRuleEvaluator();
    this.journal =
      deps.ruleStateStore === undefined
        ? undefined
        : new PartitionStateJournal(
            deps.ruleStateStore,
            this.evaluator,
            deps.log,
            deps.stateKeyPrefix ?? 'telemetry-ingest',
            deps.maxJournalEntries,
            deps.recordsPerPart,
            deps.ids,
          );
    this.clock = deps.clock ?? systemClock;
    const interval = deps.commitIntervalMs ?? 1_000;
    if (!(Number.isFinite(interval) && interval >= 0)) throw new RangeError(`commitIntervalMs must be 0 or more (got ${interval}).`);
    this.commitIntervalMs = interval;
    this.lateArrivalMs = deps.lateArrivalMs ?? 5_000;
    this.tickMs = Math.max(this.commitIntervalMs, 100);
  }

  /**
   * Reads the intake's telemetry with this ingest: the intake checkpoints only what a commit
   * saved. On the commit interval, partitions left alone commit too, and a partition that has
   * caught up lets its event time follow the clock (see `advanceIdle`), so what time alone raises
   * (a silent device, a window's end) is raised while the devices are silent. Closing the
   * subscription commits what is left.
   */
  async subscribe(intake: TelemetryIntakePort, consumerGroup: string): Promise<TelemetrySubscription> {
    return subscribeCommitting(this, intake, consumerGroup, this.tickMs, this.deps.log);
  }

  /** A `TelemetryBatchHandler`: resolves once the batch's alerts and rejections are stored (and, when one is due, its partition committed). */
  handleBatch(batch: readonly TelemetryEnvelope[], partition?: TelemetryPartitionContext): Promise<void> {
    return this.ingestBatch(batch, partition).then(nothing);
  }

  /**
   * The same, telling what the batch raised, rejected and skipped. A commit due is written beside
   * the batches that follow, a slice per turn of the event loop: a caller that hands batches over
   * without letting the loop turn between them (an intake does let it) holds the commit back, and
   * the devices its cut holds are kept twice meanwhile.
   */
  ingestBatch(batch: readonly TelemetryEnvelope[], partition?: TelemetryPartitionContext): Promise<BatchOutcome> {
    // An intake's batch is of one partition: it goes straight to that partition's turn (and this is
    // no async function, whose frame is allocated at each call).
    const only = onePartitionOf(batch);
    if (only !== undefined) return this.inPartition(only, batch, partition);
    return this.ingestPartitions(batch, partition);
  }

  /** A batch of several partitions: each partition's envelopes in its turn, one partition after the other. */
  private async ingestPartitions(batch: readonly TelemetryEnvelope[], partition: TelemetryPartitionContext | undefined): Promise<BatchOutcome> {
    const byPartition = groupByPartition(batch);
    const alerts: ThresholdAlert[] = [];
    let rejected = 0;
    let skipped = 0;
    for (const [partitionId, envelopes] of byPartition) {
      const outcome = await this.inPartition(partitionId, envelopes, partition);
      for (const alert of outcome.alerts) alerts.push(alert);
      rejected += outcome.rejected;
      skipped += outcome.skipped;
    }
    return { alerts, rejected, skipped };
  }

  /** A partition's envelopes in its turn, after the intake's claim of it when `partition` is that partition's context. */
  private inPartition(partitionId: string, envelopes: readonly TelemetryEnvelope[], partition: TelemetryPartitionContext | undefined): Promise<BatchOutcome> {
    const claim = partition !== undefined && partition.partitionId === partitionId ? partition : undefined;
    // The claim seen last (nearly always) is taken already: then the batch runs with no wait before it.
    return this.inTurn(partitionId, () =>
      claim === undefined || this.contexts.get(partitionId) === claim ? this.handlePartitionBatch(partitionId, envelopes) : this.afterClaim(claim, envelopes),
    );
  }

  /** A batch after its partition's claim is taken (see `takeClaim`). */
  private async afterClaim(claim: TelemetryPartitionContext, envelopes: readonly TelemetryEnvelope[]): Promise<BatchOutcome> {
    await this.takeClaim(claim);
    return this.handlePartitionBatch(claim.partitionId, envelopes);
  }

  /** One message on its own (a batch of one); sequence numbers must still increase per partition. */
  async handle(envelope: TelemetryEnvelope): Promise<ThresholdAlert[]> {
    return [...(await this.ingestBatch([envelope])).alerts];
  }

  /**
   * Commits every partition with changes since its last commit (at shutdown, or to read the status
   * store now), all at once; rejects with the first failure once every one has ended. At once: where
   * each slice of a commit waits on the store (a worker's on the main thread), one partition's
   * slices run while another's wait: a flush of four partitions on a worker took about a third less
   * time (docs/performance.md, "Twenty-sixth round"). A partition whose commit fails keeps what it
   * held for its next commit, and the others' go through.
   */
  async flush(): Promise<void> {
    const commits = await Promise.allSettled([...this.partitions.keys()].map((partitionId) => this.commit(partitionId)));
    const failed = commits.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Commits the partitions whose last commit is `commitIntervalMs` old (run on a timer); a failure is logged and tried again next time. */
  async commitDue(): Promise<void> {
    for (const [partitionId, state] of [...this.partitions]) {
      if (this.isDue(state) && this.commits.size === 0) await this.commit(partitionId).catch(() => undefined);
    }
  }

  private isDue(state: PartitionState): boolean {
    return state.uncommitted && (state.lastCommitAt === undefined || this.clock.now() - state.lastCommitAt >= this.commitIntervalMs);
  }

  private async handlePartitionBatch(partitionId: string, envelopes: readonly TelemetryEnvelope[]): Promise<BatchOutcome> {
    // Known and not in conflict (nearly always): no wait, and none of the allocations an await makes.
    const state = (this.conflicts.has(partitionId) ? undefined : this.partitions.get(partitionId)) ?? (await this.partitionState(partitionId));
    const rules = state.beginBatch();
    const batch = decodeBatch(state, envelopes);
    const { events, lastEnvelope } = batch;
    // The reference data of the whole batch at once: one wait, not two per event.
    const reference = await lookUpEach(
      this.deps.referenceData,
      events,
      (e) => e.deviceId,
      (e) => e.enqueuedTime,
    );
    const { alerts, messages } = this.evaluateBatch(rules, events, reference);
    if (lastEnvelope === undefined) {
      // All read before: a commit that failed with this batch is tried again before it counts as handled.
      if (this.isDue(state)) await this.commitIfDue(partitionId, state);
      return { alerts, rejected: 0, skipped: batch.skipped };
    }

    // Time alone may raise alerts too (a window ending, a silence), with tokens made of rule, device and time.
    const timed = this.evaluator.advance(rules, batch.latestTime);
    if (timed.length > 0) {
      for (const alert of timed) alerts.push(alert);
      for (const message of alertMessages(timed)) messages.push(message);
    }

    // The batch's effects first; the state takes the batch in only once they are stored.
    const { rejects } = batch;
    const outcome: BatchOutcome = { alerts, rejected: rejects.length, skipped: batch.skipped };
    if (alerts.length > 0 || rejects.length > 0) {
      const effects: BatchEffects = {
        partitionId,
        through: lastEnvelope,
        messages,
        rejects,
        outcome,
        answerAfterCommit: this.commitIntervalMs === 0 || this.failedCommits.has(partitionId),
      };
      await (this.deps.storeEffects?.(effects) ?? storeBatchEffects(this.deps, effects));
    }
    state.foldBatch(rules, batch.lastSequence, batch.latestTime, lastEnvelope);
    if (this.deps.statusStore !== undefined) this.recordBatch(state, events, batch.latestTime);
    state.lastCommitAt ??= this.clock.now();
    if (this.isDue(state)) await this.commitIfDue(partitionId, state);
    return outcome;
  }

  /** What the batch's events raise, and the alert messages for them (the loops of a batch kept out of `handlePartitionBatch`'s frame, which an async function allocates at each call). */
  private evaluateBatch(rules: unknown, events: readonly TelemetryEvent[], reference: ReferenceOfEach): { alerts: ThresholdAlert[]; messages: QueueMessage[] } {
    const alerts: ThresholdAlert[] = [];
    const messages: QueueMessage[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const raised = this.evaluator.evaluate(rules, event, reference.deviceTypes[i] ?? this.deps.defaultDeviceType, reference.rules[i]!);
      if (raised.length > 0) {
        for (const alert of raised) alerts.push(alert);
        messages.push({ messageId: event.eventToken, body: encodeCfsAlertMessage(raised), contentType: 'application/json', correlationId: event.eventToken });
      }
    }
    return { alerts, messages };
  }

  /** The batch's events in the partition's minute windows and device health, then the windows its event time closed. */
  private recordBatch(state: PartitionState, events: readonly TelemetryEvent[], latestTime: number): void {
    for (const event of events) {
      const late = state.record(event);
      if (late !== undefined)
        for (const readingType of late)
          this.deps.log.warn('telemetry.too-late-for-aggregate', { correlationId: event.eventToken, deviceId: event.deviceId, readingType });
    }
    state.close(latestTime, this.lateArrivalMs);
  }

  /** Starts a due commit beside the batches; waits for it when every batch commits, or when the last commit failed. */
  private async commitIfDue(partitionId: string, state: PartitionState): Promise<void> {
    if (!this.isDue(state)) return;
    if (this.commitIntervalMs === 0 || this.failedCommits.has(partitionId)) await this.commit(partitionId);
    // One commit at a time across partitions: their slices then never pile up between two batches.
    else if (this.commits.size === 0) void this.commit(partitionId).catch(() => undefined);
  }

  /** Queues a commit of the partition after the one running (if any). */
  private commit(partitionId: string): Promise<void> {
    const previous = this.commits.get(partitionId);
    const next = previous === undefined ? this.commitNow(partitionId) : previous.catch(() => undefined).then(() => this.commitNow(partitionId));
    this.commits.set(partitionId, next);
    void next
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        if (this.commits.get(partitionId) === next) this.commits.delete(partitionId);
      });
    return next;
  }

  /**
   * Stores what the partition's batches changed since its last commit: the rows and health, then
   * the state, then the intake's checkpoint mark. Takes a cut at once and writes it in slices, so
   * batches (and their alerts) go on meanwhile.
   */
  private async commitNow(partitionId: string): Promise<void> {
    const state = this.partitions.get(partitionId);
    if (state === undefined || !state.uncommitted) return;
    const cut = state.cut(this.journal?.kindDue(state.journal) ?? 'entry', this.clock.now());
    try {
      const betweenSlices = (): Promise<void> => this.betweenSlices(state);
      await this.writeRows(cut, betweenSlices);
      if (this.journal !== undefined) state.journal = await this.journal.save(partitionId, state.journal, cut, betweenSlices);
    } catch (error) {
      // Another instance saved the partition's state since: settled in the partition's next turn, when no batch runs on it.
      if (isRuleStateConflict(error) && this.partitions.get(partitionId) === state) this.conflicts.set(partitionId, error.message);
      state.cutFailed(cut);
      this.failedCommits.add(partitionId);
      this.deps.log.warn('ingest.commit-failed', {
        partitionId,
        lastSequence: cut.lastSequence,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    state.cutStored(cut);
    this.failedCommits.delete(partitionId);
    const context = this.contexts.get(partitionId);
    if (context !== undefined && cut.lastEnvelope !== undefined) {
      try {
        await context.checkpoint(cut.lastEnvelope);
      } catch (error) {
        // The state is saved: a restart reads again from an older mark and skips what the state holds.
        this.deps.log.warn('ingest.checkpoint-failed', { partitionId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /**
   * What a commit awaits after each slice. While the partition keeps up (fewer devices changed
   * since the cut than a slice holds), two turns of the event loop: a reading's way to its alert
   * takes the turn that receives it and the next (the delivery), and with one turn every turn of a
   * commit held a slice of it (up to a millisecond). Past that (a backlog: a batch in every turn),
   * one turn, so that the commit is not drawn out: a device changed during it is held twice, as
   * cut and as changed since, and a commit drawn out over a backlog holds more of them
   * (docs/performance.md, "Fifteenth round").
   */
  private betweenSlices(state: PartitionState): Promise<void> {
    return state.changedSinceCut < COMMIT_SLICE ? twoTurns() : yieldToBatches();
  }

  /** The cut's aggregate rows and health rows, a slice at a time. */
  private async writeRows(cut: CommitCut, betweenSlices: () => Promise<void>): Promise<void> {
    const store = this.deps.statusStore;
    if (store === undefined) return;
    for (const windows = changedWindows(cut); !windows.done;) {
      const slice = windows.take(COMMIT_SLICE);
      const peaks = slice.filter((w) => w.peakTime !== undefined);
      const reference = await lookUpEach(
        this.deps.referenceData,
        peaks,
        (w) => w.deviceId,
        (w) => w.peakTime!,
      );
      let peak = 0;
      await store.writeAggregates(slice.map((w) => (w.peakTime === undefined ? w.row() : rowWithPeak(w, reference, peak++, this.deps.defaultDeviceType))));
      await betweenSlices();
    }
    const devices = cut.changedDevices;
    const health = ({ deviceId, lastActivityTime, lastReadings }: DeviceAtCut): DeviceHealth => ({
      deviceId,
      lastActivityTime,
      online: true,
      lastReadings: { ...lastReadings },
    });
    if (store.upsertManyDeviceHealth !== undefined) {
      for (let i = 0; i < devices.length; i += COMMIT_SLICE) {
        await store.upsertManyDeviceHealth(devices.slice(i, i + COMMIT_SLICE).map(health));
        await betweenSlices();
      }
      return;
    }
    for (let i = 0; i < devices.length; i++) {
      await store.upsertDeviceHealth(health(devices[i]!));
      if ((i + 1) % COMMIT_SLICE === 0) await betweenSlices();
    }
  }

  /**
   * The watermark: lets a partition's event time pass without readings, once the partition has
   * caught up, to the clock less the late-arrival allowance; never past events still to come.
   * Event time is the hub's enqueued time, and a partition's moves only with the events it hands
   * over (`ingestBatch` advances it to the newest of each batch) and with this. A partition has
   * caught up when the intake says it has handed over the newest event the hub holds in it
   * (`lastEnqueuedSequenceNumber`); an intake that cannot tell counts a partition as caught up
   * while its event time is within the allowance and two timer periods of the clock (so a backlog
   * hours old is read on event time alone, and a live partition follows the clock). A partition
   * still reading a backlog stays at the time of its newest event read: replaying an hour-old
   * stream keeps the suppression memory, windows, durations and absences of that hour.
   * `held` are the partitions the intake holds now (when it tells): only they move, and one this
   * process has not read yet is restored from the rule state store first (once), so its silent
   * devices are noticed after a restart too. Without `held`, every partition this ingest holds.
   * Run on `subscribe`'s timer; returns what time alone raised.
   */
  async advanceIdle(held?: readonly TelemetryPartitionContext[]): Promise<ThresholdAlert[]> {
    for (const context of held ?? []) {
      if (this.contexts.get(context.partitionId) !== context) await this.inTurn(context.partitionId, () => this.takeClaim(context));
      if (!this.partitions.has(context.partitionId) && this.journal !== undefined && !this.restoreTried.has(context.partitionId)) {
        this.restoreTried.add(context.partitionId);
        await this.inTurn(context.partitionId, () => this.restoreIfStored(context.partitionId));
      }
    }
    const moving = held === undefined ? [...this.partitions.keys()] : held.map((c) => c.partitionId).filter((id) => this.partitions.has(id));
    const raised: ThresholdAlert[] = [];
    for (const partitionId of moving) {
      const alerts = await this.inTurn(partitionId, async () => {
        if (this.conflicts.has(partitionId)) await this.settleConflict(partitionId);
        const state = this.partitions.get(partitionId);
        const now = this.clock.now();
        const to = now - this.lateArrivalMs;
        if (state === undefined || !(to > state.latestTime) || !this.caughtUp(partitionId, state, now)) return [];
        return this.advancePartition(partitionId, state, to);
      });
      raised.push(...alerts);
    }
    return raised;
  }

  /**
   * Lets event time pass to `now` in every partition this ingest holds, whatever is pending: for
   * a caller that knows no event before `now` is still to come (a replay at its end, a test).
   */
  async advanceTime(now: number): Promise<ThresholdAlert[]> {
    const raised: ThresholdAlert[] = [];
    for (const partitionId of [...this.partitions.keys()]) {
      const alerts = await this.inTurn(partitionId, async () => {
        if (this.conflicts.has(partitionId)) await this.settleConflict(partitionId);
        const state = this.partitions.get(partitionId);
        if (state === undefined || !(now > state.latestTime)) return [];
        return this.advancePartition(partitionId, state, now);
      });
      raised.push(...alerts);
    }
    return raised;
  }

  /** Whether the partition has handed over all the hub holds (see `advanceIdle`). */
  private caughtUp(partitionId: string, state: PartitionState, now: number): boolean {
    const newest = this.contexts.get(partitionId)?.lastEnqueuedSequenceNumber?.();
    if (newest !== undefined) return newest <= state.lastSequence;
    return now - state.latestTime <= this.lateArrivalMs + 2 * this.tickMs;
  }

  /** Event time of one partition moves to `to` (run in its turn): alerts that time alone raises (an absence, a window's end) leave. CFS mode raises none. */
  private async advancePartition(partitionId: string, state: PartitionState, to: number): Promise<ThresholdAlert[]> {
    const rules = state.beginBatch();
    const timed = this.evaluator.advance(rules, to);
    if (timed.length > 0) await this.deps.alertsQueue.send(alertMessages(timed));
    for (const alert of timed)
      this.deps.log.info('alert.raised', {
        correlationId: alert.eventToken,
        deviceId: alert.deviceId,
        readingType: alert.readingType,
        reading: alert.reading,
        ruleOutput: alert.ruleOutput,
      });
    state.foldBatch(rules, state.lastSequence, to, state.lastEnvelope, timed.length > 0);
    await this.commitIfDue(partitionId, state);
    return timed;
  }

  /** The partition's saved state, when the store has one, taken up by this process. */
  private async restoreIfStored(partitionId: string): Promise<void> {
    if (this.partitions.has(partitionId)) return;
    const state = await this.journal?.load(partitionId);
    if (state === undefined || this.partitions.has(partitionId)) return;
    state.lastCommitAt = undefined;
    this.partitions.set(partitionId, state);
  }

  /** Runs `work` once the partition's earlier work has settled, so two never interleave on one partition's state. */
  private inTurn<T>(partitionId: string, work: () => Promise<T>): Promise<T> {
    let turn = this.queued.get(partitionId);
    // The partition's entry stays: a key deleted and set again at every batch made the map
    // reallocate its table each time, young tables held by an old map, which the collector copied
    // to the old generation (12 MB in a 10 s latency run).
    if (turn === undefined) this.queued.set(partitionId, (turn = new PartitionTurn()));
    return turn.run(work);
  }

  /**
   * Notes the intake's context of a partition. A context other than the one seen last is a new
   * claim of the partition (a new subscription, or the intake reading it again after it was
   * away): another instance may have moved it on meanwhile, and what this process holds of it is
   * stale, so it is let go (after its commit in progress) and the partition starts again from its
   * saved state. The intake reads it from its checkpoint, which is never past that state, so what
   * was not saved is read again. Without a rule state store the state is kept. Run in the
   * partition's turn.
   */
  private async takeClaim(context: TelemetryPartitionContext): Promise<void> {
    const partitionId = context.partitionId;
    const previous = this.contexts.get(partitionId);
    this.contexts.set(partitionId, context);
    // Without a rule state store there is nothing saved to start again from: what is held is all there is.
    if (previous === undefined || previous === context || this.journal === undefined) return;
    await this.commits.get(partitionId)?.catch(() => undefined);
    const stale = this.partitions.get(partitionId);
    this.partitions.delete(partitionId);
    this.failedCommits.delete(partitionId);
    this.conflicts.delete(partitionId);
    this.restoreTried.delete(partitionId);
    if (stale !== undefined) this.deps.log.info('ingest.partition-claimed-again', { partitionId, heldThrough: stale.lastSequence });
  }

  /**
   * Settles a commit that another instance's save refused (run in the partition's turn): both read
   * the partition (its ownership moved while this one still read it), and each state is the
   * partition's through its own last sequence number, so the one further along is kept. When the
   * stored one is, it is taken up, and the next batch skips what it holds. When it is behind, it
   * must not be: this intake reads on after what this process read, and the readings between
   * would be missing from the state (found by the system run, seed 620586331: a suppression memory
   * without the reading of a second before raised an alert CFS drops). What this process holds
   * stays, and its next commit writes a checkpoint over the stored copy.
   */
  private async settleConflict(partitionId: string): Promise<void> {
    const why = this.conflicts.get(partitionId);
    const held = this.partitions.get(partitionId);
    this.conflicts.delete(partitionId);
    if (why === undefined || held === undefined || this.journal === undefined) return;
    await this.commits.get(partitionId)?.catch(() => undefined);
    const stored = await this.journal.load(partitionId);
    if (stored !== undefined && stored.lastSequence >= held.lastSequence) {
      stored.lastCommitAt = undefined;
      this.partitions.set(partitionId, stored);
      this.failedCommits.delete(partitionId);
      this.deps.log.warn('ingest.partition-taken-over', { partitionId, heldThrough: held.lastSequence, storedThrough: stored.lastSequence, error: why });
      return;
    }
    held.journal = { ...(stored?.journal ?? held.journal), rebase: true };
    this.deps.log.warn('ingest.partition-state-rebased', {
      partitionId,
      heldThrough: held.lastSequence,
      storedThrough: stored?.lastSequence ?? null,
      error: why,
    });
  }

  /** The partition's state: known in this process, else restored from the store, else fresh. */
  private async partitionState(partitionId: string): Promise<PartitionState> {
    if (this.conflicts.has(partitionId)) await this.settleConflict(partitionId);
    const known = this.partitions.get(partitionId);
    if (known !== undefined) return known;
    const state = (await this.journal?.load(partitionId)) ?? new PartitionState(this.evaluator);
    state.lastCommitAt = undefined;
    this.partitions.set(partitionId, state);
    return state;
  }
}

/**
 * A partition's work, one piece after the other: each starts once the one before has settled,
 * either way. What it allocates per piece is the piece's promise and one `then` on it (a batch of
 * one reading runs through here at every delivery).
 */
class PartitionTurn {
  private last: Promise<unknown> | undefined;
  private pending = 0;
  private readonly settled = (): void => {
    if (--this.pending === 0) this.last = undefined;
  };

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last === undefined ? work() : this.last.then(work, work);
    this.pending++;
    this.last = next;
    void next.then(this.settled, this.settled);
    return next;
  }
}

const nothing = (): void => undefined;

/**
 * A window's row with its peak event and the device rule in force at the event's time for the
 * device's type and the reading type, as the CFS telemetry job joins them for `crmiotevents`;
 * `peak` is the window's place among the items `reference` was read for; a device the reference data does
 * not know has `defaultDeviceType`.
 */
function rowWithPeak(window: MinuteWindow, reference: ReferenceOfEach, peak: number, defaultDeviceType: string): MinuteAggregate {
  if (window.peakToken === undefined || window.peakTime === undefined) return window.row();
  const deviceType = reference.deviceTypes[peak] ?? defaultDeviceType;
  const rule = reference.rules[peak]?.find((r) => r.deviceType === deviceType && r.readingType === window.readingType);
  return window.row({ eventToken: window.peakToken, time: window.peakTime, threshold: rule?.threshold ?? null, ruleOutput: rule?.ruleOutput ?? null });
}

/** One queue message per event token: the token is the message id the alerts queue de-duplicates on. */
function alertMessages(alerts: readonly ThresholdAlert[]): QueueMessage[] {
  const byToken = new Map<string, ThresholdAlert[]>();
  for (const a of alerts) byToken.set(a.eventToken, [...(byToken.get(a.eventToken) ?? []), a]);
  return [...byToken].map(([token, list]) => ({ messageId: token, body: encodeCfsAlertMessage(list), contentType: 'application/json', correlationId: token }));
}

/** A batch's envelopes past what its partition has read, decoded: the events, the rejected, and how far the batch goes. */
interface DecodedBatch {
  readonly events: TelemetryEvent[];
  readonly rejects: RejectedTelemetry[];
  readonly skipped: number;
  readonly lastSequence: number;
  readonly latestTime: number;
  /** The batch's last envelope not read before (undefined: it was all read before). */
  readonly lastEnvelope: TelemetryEnvelope | undefined;
}

function decodeBatch(state: PartitionState, envelopes: readonly TelemetryEnvelope[]): DecodedBatch {
  const events: TelemetryEvent[] = [];
  const rejects: RejectedTelemetry[] = [];
  let lastSequence = state.lastSequence;
  let latestTime = state.latestTime;
  let lastEnvelope: TelemetryEnvelope | undefined;
  let skipped = 0;
  for (const envelope of envelopes) {
    if (envelope.sequenceNumber <= lastSequence) {
      skipped++;
      continue;
    }
    lastSequence = envelope.sequenceNumber;
    lastEnvelope = envelope;
    if (envelope.enqueuedTime > latestTime) latestTime = envelope.enqueuedTime;
    const decoded = decodeTelemetry(envelope.body, envelope.enqueuedTime);
    if (!decoded.ok) {
      rejects.push({ envelope, reason: 'InvalidTelemetry', description: describeIssues(decoded.error) });
      continue;
    }
    events.push(decoded.value);
  }
  return { events, rejects, skipped, lastSequence, latestTime, lastEnvelope };
}

/** The partition of every envelope of the batch, when they share one (undefined for an empty batch). */
function onePartitionOf(batch: readonly TelemetryEnvelope[]): string | undefined {
  const partitionId = batch[0]?.partitionId;
  for (let i = 1; i < batch.length; i++) if (batch[i]!.partitionId !== partitionId) return undefined;
  return partitionId;
}

/** A batch's envelopes by partition, each partition's in the order they came (an intake's batch, of one partition, as it is). */
export function groupByPartition(batch: readonly TelemetryEnvelope[]): Map<string, readonly TelemetryEnvelope[]> {
  const only = onePartitionOf(batch);
  if (only !== undefined) return new Map([[only, batch]]);
  const byPartition = new Map<string, TelemetryEnvelope[]>();
  for (const envelope of batch) {
    const list = byPartition.get(envelope.partitionId);
    if (list === undefined) byPartition.set(envelope.partitionId, [envelope]);
    else list.push(envelope);
  }
  return byPartition;
}

/** What `subscribeCommitting` drives: an ingest on one thread or on worker threads. */
export interface CommittingIngest {
  handleBatch(batch: readonly TelemetryEnvelope[], partition?: TelemetryPartitionContext): Promise<void>;
  advanceIdle(held?: readonly TelemetryPartitionContext[]): Promise<unknown>;
  commitDue(): Promise<void>;
  flush(): Promise<void>;
}

/**
 * Subscribes `ingest` to the intake with `by-handler` checkpoints, and every `tickMs` moves idle
 * partitions on and commits what is due (one tick at a time). Closing stops the ticks and the
 * intake, waits for the tick in progress, commits what is left, then runs `afterFlush`.
 * `partitions`: read only these of the hub's partitions (an ingest worker that owns them).
 */
export async function subscribeCommitting(
  ingest: CommittingIngest,
  intake: TelemetryIntakePort,
  consumerGroup: string,
  tickMs: number,
  log: LogPort,
  afterFlush?: () => Promise<void>,
  partitions?: readonly string[],
): Promise<TelemetrySubscription> {
  const subscription = await intake.subscribe(consumerGroup, (batch, partition) => ingest.handleBatch(batch, partition), {
    checkpoints: 'by-handler',
    ...(partitions === undefined ? {} : { partitions }),
  });
  let committing: Promise<unknown> | undefined;
  const tick = async (): Promise<void> => {
    try {
      await ingest.advanceIdle(subscription.partitions?.());
    } catch (error) {
      log.warn('ingest.advance-failed', { error: error instanceof Error ? error.message : String(error) });
    }
    await ingest.commitDue();
  };
  const stopTicks = every(tickMs, () => {
    committing ??= tick().finally(() => (committing = undefined));
  });
  return {
    close: async () => {
      stopTicks();
      await subscription.close();
      await committing;
      try {
        await ingest.flush();
      } finally {
        await afterFlush?.();
      }
    },
  };
}
