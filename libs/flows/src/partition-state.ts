import { LayeredMap } from './layered-map.js';
import { MinuteAggregates, type MinuteAggregatesBatch } from './minute-aggregates.js';
import type { RuleEvaluator } from './rule-evaluator.js';

export type Readings = Readonly<Record<string, number>>;

/**
 * What ingest remembers per telemetry partition, as committed: how far it got, the rule state, the
 * open minute windows and each device's last value of every reading type. Changed only by
 * `PartitionStates.commit`, once everything a batch did is stored.
 */
export interface PartitionState {
  lastSequence: number;
  latestTime: number;
  rules: unknown;
  readonly aggregates: MinuteAggregates;
  /**
   * Kept here, not only in the batch: the health row is written whole, so a batch holding only a
   * heartbeat (no readings) would otherwise blank the readings of an earlier batch.
   */
  readonly lastReadings: Map<string, Readings>;
  /** Where the stored copy stands (see `PartitionStateJournal`). */
  journal: JournalPosition;
}

/** The checkpoint a partition's stored state starts from, and what the journal holds after it. */
export interface JournalPosition {
  /** The checkpoint's id; undefined when there is none the journal could follow. */
  readonly epoch: string | undefined;
  /** Entries written after the checkpoint. */
  readonly entries: number;
  /** Records (windows, last readings) those entries hold, and the checkpoint holds. */
  readonly journaledRecords: number;
  readonly checkpointRecords: number;
}

/**
 * One batch's view of a partition's state. Rule state, windows and last readings are read through
 * to the committed state and copied only where the batch changes them, so a batch costs what it
 * touches; a batch that fails is dropped and the committed state never saw it.
 */
export interface PartitionBatch {
  lastSequence: number;
  latestTime: number;
  readonly rules: unknown;
  readonly aggregates: MinuteAggregatesBatch;
  readonly lastReadings: LayeredMap<string, Readings>;
}

/** The whole state of a partition, as stored in a checkpoint. */
export interface PartitionSnapshot {
  readonly lastSequence: number;
  readonly latestTime: number;
  readonly rules: unknown;
  readonly aggregates: unknown;
  readonly lastReadings: Readonly<Record<string, Readings>>;
}

/** What one batch changed, as stored in a journal entry. */
export type PartitionChanges = PartitionSnapshot;

/**
 * A partition's state for one rules evaluator: a fresh one, a batch's view of it, the batch's
 * changes folded back, and the stored forms (the whole state, and what one batch changed).
 */
export class PartitionStates {
  constructor(private readonly evaluator: RuleEvaluator<unknown>) {}

  fresh(): PartitionState {
    return { lastSequence: -1, latestTime: 0, rules: this.evaluator.initialState(), aggregates: new MinuteAggregates(), lastReadings: new Map(), journal: { epoch: undefined, entries: 0, journaledRecords: 0, checkpointRecords: 0 } };
  }

  begin(state: PartitionState): PartitionBatch {
    const changes = this.evaluator.changes;
    return {
      lastSequence: state.lastSequence,
      latestTime: state.latestTime,
      // An evaluator that cannot keep a batch's changes apart has the batch work on a whole copy.
      rules: changes === undefined ? this.evaluator.copy(state.rules) : changes.begin(state.rules),
      aggregates: state.aggregates.begin(),
      lastReadings: new LayeredMap(state.lastReadings),
    };
  }

  /** Folds a stored batch into the committed state. */
  commit(state: PartitionState, batch: PartitionBatch): void {
    state.lastSequence = batch.lastSequence;
    state.latestTime = batch.latestTime;
    if (this.evaluator.changes === undefined) state.rules = batch.rules;
    else this.evaluator.changes.commit(batch.rules);
    state.aggregates.apply(batch.aggregates.changes());
    batch.lastReadings.commit();
  }

  /** The whole state with the batch's changes, as a checkpoint holds it. */
  snapshotOf(batch: PartitionBatch): PartitionSnapshot {
    return {
      lastSequence: batch.lastSequence,
      latestTime: batch.latestTime,
      rules: this.evaluator.toSnapshot(batch.rules),
      aggregates: batch.aggregates.toSnapshot(),
      lastReadings: Object.fromEntries(batch.lastReadings),
    };
  }

  /** What the batch changed, as a journal entry holds it. */
  changesOf(batch: PartitionBatch): PartitionChanges {
    const lastReadings: Record<string, Readings> = {};
    for (const change of batch.lastReadings.changes()) if (!change.removed) lastReadings[change.key] = change.value;
    return {
      lastSequence: batch.lastSequence,
      latestTime: batch.latestTime,
      rules: this.evaluator.changes === undefined ? this.evaluator.toSnapshot(batch.rules) : this.evaluator.changes.changes(batch.rules),
      aggregates: batch.aggregates.changes(),
      lastReadings,
    };
  }

  /** Undefined when the snapshot is not one of this evaluator's. */
  fromSnapshot(snapshot: PartitionSnapshot, epoch: string | undefined): PartitionState | undefined {
    const rules = this.evaluator.fromSnapshot(snapshot.rules);
    const aggregates = MinuteAggregates.fromSnapshot(snapshot.aggregates);
    // A snapshot saved before last readings were kept has none: they fill again with the next readings.
    const lastReadings = snapshot.lastReadings === undefined ? new Map<string, Readings>() : lastReadingsOf(snapshot.lastReadings);
    if (rules === undefined || aggregates === undefined || lastReadings === undefined) return undefined;
    return {
      lastSequence: snapshot.lastSequence,
      latestTime: snapshot.latestTime,
      rules,
      aggregates,
      lastReadings: new Map(lastReadings),
      journal: { epoch, entries: 0, journaledRecords: 0, checkpointRecords: aggregates.size + lastReadings.size },
    };
  }

  /** Applies a journal entry to a restored state; false when the entry cannot be read (the state is then of no use). */
  replay(state: PartitionState, changes: PartitionChanges): boolean {
    const lastReadings = lastReadingsOf(changes.lastReadings);
    if (lastReadings === undefined || !state.aggregates.replay(changes.aggregates)) return false;
    if (this.evaluator.changes === undefined) {
      const rules = this.evaluator.fromSnapshot(changes.rules);
      if (rules === undefined) return false;
      state.rules = rules;
    } else if (!this.evaluator.changes.replay(state.rules, changes.rules)) return false;
    for (const [deviceId, readings] of lastReadings) state.lastReadings.set(deviceId, readings);
    state.lastSequence = changes.lastSequence;
    state.latestTime = changes.latestTime;
    const { entries, journaledRecords } = state.journal;
    state.journal = { ...state.journal, entries: entries + 1, journaledRecords: journaledRecords + recordsIn(changes) };
    return true;
  }
}

/** The windows and last readings a snapshot or a journal entry holds (rule state is small beside them). */
export function recordsIn(stored: PartitionSnapshot | PartitionChanges): number {
  const windows = (stored.aggregates as { windows?: unknown } | null)?.windows;
  return (Array.isArray(windows) ? windows.length : 0) + Object.keys(stored.lastReadings ?? {}).length;
}

function lastReadingsOf(snapshot: unknown): Map<string, Readings> | undefined {
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) return undefined;
  const map = new Map<string, Readings>();
  for (const [deviceId, readings] of Object.entries(snapshot)) {
    if (typeof readings !== 'object' || readings === null || Array.isArray(readings)) return undefined;
    if (!Object.values(readings).every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    map.set(deviceId, { ...(readings as Record<string, number>) });
  }
  return map;
}
