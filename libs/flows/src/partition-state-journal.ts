import { randomUUID } from 'node:crypto';
import type { LogPort, RuleStateStorePort } from '@fieldlink/ports';
import { PartitionState, recordsIn, type CommitCut, type JournalPosition, type PartitionChanges, type PartitionSnapshot, type Readings } from './partition-state.js';
import type { OpenMinuteWindow } from './minute-aggregates.js';
import type { RuleEvaluator } from './rule-evaluator.js';

/** The checkpoint before journal entries existed: the whole state saved after every batch. */
const WHOLE_STATE_FORMAT = 'fieldlink.telemetry-ingest/1';
const CHECKPOINT_FORMAT = 'fieldlink.telemetry-ingest/2';
const ENTRY_FORMAT = 'fieldlink.telemetry-ingest.journal/1';

/** The most journal entries that follow a checkpoint: what a restore reads at most, besides the checkpoint. */
export const DEFAULT_MAX_JOURNAL_ENTRIES = 1_000;
/** Journaled records that never make a checkpoint due on their own: a small state is cheap to replay. */
const MIN_RECORDS_BEFORE_CHECKPOINT = 1_000;

/**
 * A partition's state in a `RuleStateStorePort`, written at the cost of what changed.
 *
 * Every commit of the ingest (all batches since the last one) writes exactly one key: either a
 * journal entry holding only what those batches changed (position, rule state changes, the
 * windows, last readings and activity they touched), or a checkpoint holding the whole state. A checkpoint is due once the entries since
 * the last one hold as many records as it did (so writing checkpoints costs at most about one
 * record per record changed, and replaying the journal no more than reading the state again), or
 * once there are `maxJournalEntries` of them (which bounds the reads of a restore). The
 * checkpoint is under `<prefix>/<partition>`; entry i after it is under
 * `<prefix>/<partition>/journal/<i>` and carries the checkpoint's epoch (a random id per
 * checkpoint) and its index. Restoring reads the checkpoint, then entries 0, 1, … while each
 * carries that epoch and the next index: an entry left over from an earlier checkpoint, or never
 * written, ends the chain. So the store holds at most `maxJournalEntries` + 1 keys per partition,
 * a restore reads at most as many, and the position restored is exactly the last stored commit's:
 * messages at or before it are skipped.
 */
export class PartitionStateJournal {
  private readonly maxJournalEntries: number;

  constructor(
    private readonly store: RuleStateStorePort,
    private readonly evaluator: RuleEvaluator<unknown>,
    private readonly log: LogPort,
    private readonly keyPrefix: string,
    maxJournalEntries = DEFAULT_MAX_JOURNAL_ENTRIES,
  ) {
    if (!(Number.isInteger(maxJournalEntries) && maxJournalEntries >= 0)) throw new RangeError(`maxJournalEntries must be a whole number, 0 or more (got ${maxJournalEntries}).`);
    this.maxJournalEntries = maxJournalEntries;
  }

  /** The stored state of a partition, or undefined when there is none (or none this evaluator can read: logged). */
  async load(partitionId: string): Promise<PartitionState | undefined> {
    const key = this.checkpointKey(partitionId);
    const stored = await this.store.load(key);
    if (stored === undefined) return undefined;
    const checkpoint = this.checkpointOf(stored);
    const state = new PartitionState(this.evaluator);
    if (checkpoint === undefined || !state.replay(checkpoint.snapshot, 'checkpoint')) {
      this.log.error('ingest.state-unreadable', { partitionId, key });
      return undefined;
    }
    state.journal = { epoch: checkpoint.epoch, entries: 0, journaledRecords: 0, checkpointRecords: recordsIn(checkpoint.snapshot) };
    if (checkpoint.epoch !== undefined) {
      for (let index = 0; ; index++) {
        const entryKey = this.entryKey(partitionId, index);
        const entry = this.entryOf(await this.store.load(entryKey), checkpoint.epoch, index);
        if (entry === 'end') break;
        if (entry === 'unreadable' || !state.replay(entry, 'entry')) {
          this.log.error('ingest.state-unreadable', { partitionId, key: entryKey });
          return undefined;
        }
        const { entries, journaledRecords } = state.journal;
        state.journal = { ...state.journal, entries: entries + 1, journaledRecords: journaledRecords + recordsIn(entry) };
      }
    }
    this.log.info('ingest.state-restored', { partitionId, lastSequence: state.lastSequence, journalEntries: state.journal.entries });
    return state;
  }

  /** What the next commit of a partition whose stored copy stands at `position` writes: a checkpoint once one is due. */
  kindDue(position: JournalPosition): 'checkpoint' | 'entry' {
    const { epoch, entries, journaledRecords, checkpointRecords } = position;
    // No checkpoint to follow yet (a new partition, or state restored from the whole-state format), or one is due.
    return epoch === undefined || entries >= this.maxJournalEntries || journaledRecords >= Math.max(checkpointRecords, MIN_RECORDS_BEFORE_CHECKPOINT) ? 'checkpoint' : 'entry';
  }

  /**
   * Stores a commit's cut (a journal entry, or a checkpoint: see `kindDue`), building it in slices
   * between which batches may run, and tells where the stored copy then stands. When it fails,
   * nothing of the cut counts as stored.
   */
  async save(partitionId: string, position: JournalPosition, cut: CommitCut): Promise<JournalPosition> {
    const stored = await storedFormOf(cut);
    if (cut.kind === 'checkpoint') {
      const epoch = randomUUID();
      await this.store.save(this.checkpointKey(partitionId), { format: CHECKPOINT_FORMAT, evaluator: this.evaluator.name, epoch, ...stored });
      return { epoch, entries: 0, journaledRecords: 0, checkpointRecords: recordsIn(stored) };
    }
    const { epoch, entries, journaledRecords, checkpointRecords } = position;
    await this.store.save(this.entryKey(partitionId, entries), { format: ENTRY_FORMAT, evaluator: this.evaluator.name, epoch, index: entries, ...stored });
    return { epoch, entries: entries + 1, journaledRecords: journaledRecords + recordsIn(stored), checkpointRecords };
  }

  private checkpointKey(partitionId: string): string {
    return `${this.keyPrefix}/${partitionId}`;
  }

  private entryKey(partitionId: string, index: number): string {
    return `${this.keyPrefix}/${partitionId}/journal/${index}`;
  }

  private checkpointOf(stored: unknown): { snapshot: PartitionSnapshot; epoch: string | undefined } | undefined {
    if (!isPositioned(stored) || stored['evaluator'] !== this.evaluator.name) return undefined;
    if (stored['format'] === WHOLE_STATE_FORMAT) return { snapshot: stored as unknown as PartitionSnapshot, epoch: undefined };
    if (stored['format'] === CHECKPOINT_FORMAT && typeof stored['epoch'] === 'string') return { snapshot: stored as unknown as PartitionSnapshot, epoch: stored['epoch'] };
    return undefined;
  }

  /** `end` for no entry, or one that belongs to another checkpoint; `unreadable` for one of this checkpoint that cannot be used. */
  private entryOf(stored: unknown, epoch: string, index: number): PartitionChanges | 'end' | 'unreadable' {
    if (typeof stored !== 'object' || stored === null) return 'end';
    const s = stored as Record<string, unknown>;
    if (s['format'] !== ENTRY_FORMAT || s['epoch'] !== epoch || s['index'] !== index) return 'end';
    return isPositioned(s) && s['evaluator'] === this.evaluator.name ? (s as unknown as PartitionChanges) : 'unreadable';
  }
}

/** Records stored between two turns of the event loop, so batches of other work wait at most one slice. */
export const COMMIT_SLICE = 500;

/** Lets waiting batches run. */
export const yieldToBatches = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function storedFormOf(cut: CommitCut): Promise<PartitionSnapshot> {
  // The windows go as they are: each serialises itself (`toJSON`) when the store writes them.
  const windows = cut.windows as unknown as OpenMinuteWindow[];
  await yieldToBatches();
  const lastReadings: Record<string, Readings> = {};
  const lastActivity: Record<string, number> = {};
  const { deviceIds, lastActivityTimes } = cut.devices;
  for (let i = 0; i < deviceIds.length; i++) {
    lastReadings[deviceIds[i]!] = cut.devices.lastReadings[i]!;
    if (Number.isFinite(lastActivityTimes[i])) lastActivity[deviceIds[i]!] = lastActivityTimes[i]!;
  }
  const closedThrough = Number.isFinite(cut.closedThrough) ? cut.closedThrough : null;
  return { lastSequence: cut.lastSequence, latestTime: cut.latestTime, rules: cut.rules, aggregates: { closedThrough, windows }, lastReadings, lastActivity };
}

function isPositioned(stored: unknown): stored is Record<string, unknown> {
  if (typeof stored !== 'object' || stored === null) return false;
  const s = stored as Record<string, unknown>;
  return typeof s['lastSequence'] === 'number' && typeof s['latestTime'] === 'number';
}
