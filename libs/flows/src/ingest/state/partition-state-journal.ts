// Flows 3–6 (ingest state): a partition's state saved as checkpoints and journal entries, and restored.
import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import type { IdPort, LogPort, RuleStateStorePort } from '@fieldlink/ports';
import { randomIds } from '../../shared/system-sources.js';
import {
  PartitionState,
  recordsIn,
  storedWindows,
  type CommitCut,
  type CutWindows,
  type DeviceAtCut,
  type JournalPosition,
  type PartitionSnapshot,
  type Readings,
} from './partition-state.js';
import type { OpenMinuteWindow } from './minute-aggregates.js';
import type { RuleEvaluator, RuleStatePieceSource } from '../rule-evaluator.js';
import {
  entryOwnerSchema,
  parseStored,
  storedCheckpointSchema,
  storedEntrySchema,
  storedPartSchema,
  storedStateError,
  type StoredState,
  type StoredStateError,
} from './stored-state.js';
import { yieldToBatches } from '../../shared/timers.js';

/** Lets waiting batches run (see `shared/timers.ts`). */
export { yieldToBatches };

/** The checkpoint before journal entries existed: the whole state saved after every batch. */
const WHOLE_STATE_FORMAT = 'fieldlink.telemetry-ingest/1';
/** A checkpoint and a journal entry in one key each, as written before they were split in parts (still read). */
const SINGLE_KEY_CHECKPOINT_FORMAT = 'fieldlink.telemetry-ingest/2';
const SINGLE_KEY_ENTRY_FORMAT = 'fieldlink.telemetry-ingest.journal/1';
/** A checkpoint whose rule state is in the key itself, whole (an evaluator without `pieces`; before pieces, every one). */
const CHECKPOINT_FORMAT = 'fieldlink.telemetry-ingest/3';
/** A checkpoint whose rule state is in pieces: one in each part that has one, and one (perhaps empty) in the key. */
const PIECED_CHECKPOINT_FORMAT = 'fieldlink.telemetry-ingest/4';
const ENTRY_FORMAT = 'fieldlink.telemetry-ingest.journal/2';
const PART_FORMAT = 'fieldlink.telemetry-ingest.part/1';

/** Windows, and devices, per stored part: what one write serialises, between two turns of the event loop. */
export const RECORDS_PER_PART = 500;

/** The most journal entries that follow a checkpoint: what a restore reads at most, besides the checkpoint. */
export const DEFAULT_MAX_JOURNAL_ENTRIES = 1_000;
/** Journaled records that never make a checkpoint due on their own: a small state is cheap to replay. */
const MIN_RECORDS_BEFORE_CHECKPOINT = 1_000;

/**
 * A partition's state in a `RuleStateStorePort`, written at the cost of what changed.
 *
 * Every commit of the ingest (all batches since the last one) writes either a journal entry
 * holding only what those batches changed (position, rule state changes, the windows, last
 * readings and activity they touched), or a checkpoint holding the whole state. A checkpoint is
 * due once the entries since the last one hold as many records as it did (so writing checkpoints
 * costs at most about one record per record changed, and replaying the journal no more than
 * reading the state again), or once there are `maxJournalEntries` of them (which bounds the reads
 * of a restore).
 *
 * Keys: the checkpoint is under `<prefix>/<partition>`; entry i after it is under
 * `<prefix>/<partition>/journal/<i>` and carries the checkpoint's epoch (a random id per
 * checkpoint) and its index. Restoring reads the checkpoint, then entries 0, 1, … while each
 * carries that epoch and the next index: an entry left over from an earlier checkpoint, or never
 * written, ends the chain. So the position restored is exactly the last stored commit's:
 * messages at or before it are skipped.
 *
 * Parts: a checkpoint or entry of more than `RECORDS_PER_PART` windows or devices is written in
 * parts of that many, each its own key (`<key>/part/<k>`, for a checkpoint
 * `<key>/part/<slot>/<k>`), with the event loop free between two writes, so batches wait for one
 * part at most, never for a whole state to be serialised. The key itself holds one part (part 0,
 * the last one built; a restore folds the parts in whatever their order) and how many there are,
 * and is written last: it is the commit. Each part carries its epoch (and
 * entry index), so a part left by a write that never finished is never read as this one's. A
 * checkpoint's parts alternate between two slots, so a new checkpoint never overwrites the parts
 * of the one in force until its own key replaces it. A checkpoint of an evaluator with `pieces`
 * (the CFS one) stores its rule state the same way, up to `RECORDS_PER_PART` entries in each part
 * and in the key (format `fieldlink.telemetry-ingest/4`), made from a compact copy taken at the
 * cut; a journal entry holds its rule changes in its key.
 */
export class PartitionStateJournal {
  private readonly maxJournalEntries: number;

  constructor(
    private readonly store: RuleStateStorePort,
    private readonly evaluator: RuleEvaluator<unknown>,
    private readonly log: LogPort,
    private readonly keyPrefix: string,
    maxJournalEntries = DEFAULT_MAX_JOURNAL_ENTRIES,
    private readonly recordsPerPart = RECORDS_PER_PART,
    /** Each new checkpoint's epoch. */
    private readonly ids: IdPort = randomIds,
  ) {
    if (!(Number.isInteger(recordsPerPart) && recordsPerPart >= 1))
      throw new RangeError(`recordsPerPart must be a whole number, 1 or more (got ${recordsPerPart}).`);
    if (!(Number.isInteger(maxJournalEntries) && maxJournalEntries >= 0))
      throw new RangeError(`maxJournalEntries must be a whole number, 0 or more (got ${maxJournalEntries}).`);
    this.maxJournalEntries = maxJournalEntries;
  }

  /** The stored state of a partition, or undefined when there is none, or none this evaluator can read (logged with what was wrong). */
  async load(partitionId: string): Promise<PartitionState | undefined> {
    const read = await this.read(partitionId);
    if (read.ok) return read.value;
    this.log.error('ingest.state-unreadable', { partitionId, key: read.error.key, code: read.error.code, reason: read.error.message });
    return undefined;
  }

  /**
   * The stored state of a partition (undefined when there is none), each blob validated on read:
   * a checkpoint, journal entry or part that does not hold what it should is a `StoredStateError`
   * naming its key and the fields that were wrong.
   */
  async read(partitionId: string): Promise<Result<PartitionState | undefined, StoredStateError>> {
    const key = this.checkpointKey(partitionId);
    const stored = await this.store.load(key);
    if (stored === undefined) return ok(undefined);
    const checkpoint = this.checkpointOf(stored);
    if (!checkpoint.ok) return err(storedStateError(key, checkpoint.error));
    const { header, epoch, slot, pieced } = checkpoint.value;
    const whole = await this.withParts(key, header, `${key}/part/${slot}`, epoch, undefined, pieced);
    if (!whole.ok) return err(whole.error);
    const state = new PartitionState(this.evaluator);
    const replayed = state.replay(whole.value, 'checkpoint');
    if (!replayed.ok) return err(storedStateError(key, replayed.error));
    state.journal = { epoch, slot, entries: 0, journaledRecords: 0, checkpointRecords: recordsIn(whole.value) };
    if (epoch !== undefined) {
      for (let index = 0; ; index++) {
        const entryKey = this.entryKey(partitionId, index);
        const header = this.entryOf(await this.store.load(entryKey), epoch, index);
        if (header === 'end') break;
        if (!header.ok) return err(storedStateError(entryKey, header.error));
        const entry = await this.withParts(entryKey, header.value, `${entryKey}/part`, epoch, index, false);
        if (!entry.ok) return err(entry.error);
        const applied = state.replay(entry.value, 'entry');
        if (!applied.ok) return err(storedStateError(entryKey, applied.error));
        const { entries, journaledRecords } = state.journal;
        state.journal = { ...state.journal, entries: entries + 1, journaledRecords: journaledRecords + recordsIn(entry.value) };
      }
    }
    this.log.info('ingest.state-restored', { partitionId, lastSequence: state.lastSequence, journalEntries: state.journal.entries });
    return ok(state);
  }

  /** What the next commit of a partition whose stored copy stands at `position` writes: a checkpoint once one is due. */
  kindDue(position: JournalPosition): 'checkpoint' | 'entry' {
    const { epoch, entries, journaledRecords, checkpointRecords } = position;
    // No checkpoint to follow yet (a new partition, or state restored from the whole-state format), or one is due.
    return epoch === undefined ||
      position.rebase === true ||
      entries >= this.maxJournalEntries ||
      journaledRecords >= Math.max(checkpointRecords, MIN_RECORDS_BEFORE_CHECKPOINT)
      ? 'checkpoint'
      : 'entry';
  }

  /**
   * Stores a commit's cut (a journal entry, or a checkpoint: see `kindDue`), building it in slices
   * after each of which it awaits `betweenSlices` (one turn of the event loop unless told) so that
   * batches may run, and tells where the stored copy then stands. When it fails, nothing of the cut
   * counts as stored.
   */
  async save(partitionId: string, position: JournalPosition, cut: CommitCut, betweenSlices: () => Promise<void> = yieldToBatches): Promise<JournalPosition> {
    const parts = new CutParts(cut, this.recordsPerPart);
    const head = (part: StoredPart) => ({
      lastSequence: cut.lastSequence,
      latestTime: cut.latestTime,
      rules: cut.rulePieces === undefined ? cut.rules : (part.rules ?? []),
      aggregates: { closedThrough: Number.isFinite(cut.closedThrough) ? cut.closedThrough : null, windows: part.windows },
      lastReadings: part.lastReadings,
      lastActivity: part.lastActivity,
      parts: parts.count,
    });
    if (cut.kind === 'checkpoint') {
      const epoch = this.ids.newId();
      const slot = position.slot === 0 ? 1 : 0;
      const key = this.checkpointKey(partitionId);
      // Over another instance's copy, the parts this writes may be ones it wrote: each is read again first (a store writes only over what it read last).
      const last = await this.saveParts(`${key}/part/${slot}`, parts, { epoch }, position.rebase === true, betweenSlices);
      const format = cut.rulePieces === undefined ? CHECKPOINT_FORMAT : PIECED_CHECKPOINT_FORMAT;
      await this.store.save(key, { format, evaluator: this.evaluator.name, epoch, slot, ...head(last) });
      await this.readAhead(partitionId, 0);
      return { epoch, slot, entries: 0, journaledRecords: 0, checkpointRecords: parts.records };
    }
    const { epoch, entries, journaledRecords } = position;
    const key = this.entryKey(partitionId, entries);
    const last = await this.saveParts(`${key}/part`, parts, { epoch, index: entries }, false, betweenSlices);
    await this.store.save(key, { format: ENTRY_FORMAT, evaluator: this.evaluator.name, epoch, index: entries, ...head(last) });
    await this.readAhead(partitionId, entries + 1);
    return { ...position, entries: entries + 1, journaledRecords: journaledRecords + parts.records };
  }

  /**
   * Reads the key of the entry the next commit writes, now, so that the store writes it only over
   * what it holds now (an entry left from an earlier checkpoint, or none). A store writes a key it
   * never read unconditionally: another instance that took the partition over could write that
   * entry meanwhile and have it overwritten, and the chain would mix two writers' changes. Read
   * now, that instance's entry makes the next save fail with `RuleStateConflict` instead.
   */
  private async readAhead(partitionId: string, index: number): Promise<void> {
    await this.readOnly(this.entryKey(partitionId, index));
  }

  /**
   * Reads a key only so that the store checks the next save of it; what it holds is dropped. As
   * text where the store gives it (`loadJson`): entry keys are written again at every checkpoint
   * cycle, so the key read ahead holds an old entry, and from a worker thread its snapshot crossed
   * back from the main thread as objects, parsed there and cloned (about 120 KB of JSON a commit
   * a partition at 10,000 devices; docs/performance.md, "Thirty-fourth round").
   */
  private async readOnly(key: string): Promise<void> {
    await (this.store.loadJson !== undefined ? this.store.loadJson(key) : this.store.load(key));
  }

  /**
   * Writes every part of a cut but its last, one a turn of the event loop, as parts 1…; the last
   * goes in the key itself (part 0 of the stored form), written after them: returned for it. Each
   * part is built in the turn that writes it, so none is kept while batches run.
   */
  private async saveParts(
    prefix: string,
    parts: CutParts,
    owner: { epoch: string | undefined; index?: number },
    readFirst: boolean,
    betweenSlices: () => Promise<void>,
  ): Promise<StoredPart> {
    for (let k = 1; ; k++) {
      await betweenSlices();
      const part = parts.next();
      if (parts.done) return part;
      if (readFirst) await this.readOnly(`${prefix}/${k}`);
      await this.store.save(`${prefix}/${k}`, { format: PART_FORMAT, ...owner, part: k, ...part });
    }
  }

  /**
   * The header stored under `key` with the parts after it folded in, and for a checkpoint whose
   * rule state is in pieces (`pieced`) that state joined; the error names the part that is
   * missing, corrupt or not this header's.
   */
  private async withParts(
    key: string,
    header: StoredState,
    prefix: string,
    epoch: string | undefined,
    index: number | undefined,
    pieced: boolean,
  ): Promise<Result<PartitionSnapshot, StoredStateError>> {
    if (header.parts === 1 && !pieced) return ok(header);
    const ruleEntries: unknown[] = [];
    const windows: OpenMinuteWindow[] = [...header.aggregates.windows];
    const lastReadings: Record<string, Readings> = { ...header.lastReadings };
    const lastActivity: Record<string, number> = { ...header.lastActivity };
    for (let k = 1; k < header.parts; k++) {
      const partKey = `${prefix}/${k}`;
      const part = parseStored(storedPartSchema, await this.store.load(partKey));
      if (!part.ok) return err(storedStateError(partKey, part.error));
      const owner: ValidationIssue[] = [];
      if (part.value.epoch !== epoch)
        owner.push(issue(['epoch'], `expected ${JSON.stringify(epoch ?? null)}, the epoch of its checkpoint (a part left by a write that never finished)`));
      if (part.value.part !== k) owner.push(issue(['part'], `expected ${k}`));
      if (part.value.index !== index) owner.push(issue(['index'], `expected ${JSON.stringify(index ?? null)}, the index of its entry`));
      if (owner.length > 0) return err(storedStateError(partKey, owner));
      for (const w of part.value.windows) windows.push(w);
      Object.assign(lastReadings, part.value.lastReadings);
      Object.assign(lastActivity, part.value.lastActivity);
      if (pieced) for (const entry of part.value.rules ?? []) ruleEntries.push(entry);
    }
    const folded = { ...header, aggregates: { closedThrough: header.aggregates.closedThrough, windows }, lastReadings, lastActivity };
    if (!pieced) return ok(folded);
    // The key's piece was built last.
    const pieces = this.evaluator.pieces;
    const own = header.rules;
    if (pieces === undefined || !Array.isArray(own))
      return err(
        storedStateError(key, [
          issue(
            ['rules'],
            pieces === undefined ? 'rule state in pieces, which this rules engine does not write' : 'expected an array: the piece of rule state the key holds',
          ),
        ]),
      );
    for (const entry of own) ruleEntries.push(entry);
    return ok({ ...folded, rules: pieces.join(ruleEntries) });
  }

  private checkpointKey(partitionId: string): string {
    return `${this.keyPrefix}/${partitionId}`;
  }

  private entryKey(partitionId: string, index: number): string {
    return `${this.keyPrefix}/${partitionId}/journal/${index}`;
  }

  private checkpointOf(stored: unknown): Result<{ header: StoredState; epoch: string | undefined; slot: number; pieced: boolean }, ValidationIssue[]> {
    const checkpoint = parseStored(storedCheckpointSchema, stored);
    if (!checkpoint.ok) return checkpoint;
    const header = checkpoint.value;
    if (header.evaluator !== this.evaluator.name) return err([this.otherEvaluator(header.evaluator)]);
    if (header.format === WHOLE_STATE_FORMAT) return ok({ header, epoch: undefined, slot: 0, pieced: false });
    if (header.format === SINGLE_KEY_CHECKPOINT_FORMAT) return ok({ header, epoch: header.epoch, slot: 0, pieced: false });
    return ok({ header, epoch: header.epoch, slot: header.slot, pieced: header.format === PIECED_CHECKPOINT_FORMAT });
  }

  /** `end` for no entry, or one that belongs to another checkpoint; the issues for one of this checkpoint that cannot be used. */
  private entryOf(stored: unknown, epoch: string, index: number): Result<StoredState, ValidationIssue[]> | 'end' {
    const owner = entryOwnerSchema.safeParse(stored);
    if (!owner.success) return 'end';
    if ((owner.data.format !== ENTRY_FORMAT && owner.data.format !== SINGLE_KEY_ENTRY_FORMAT) || owner.data.epoch !== epoch || owner.data.index !== index)
      return 'end';
    const entry = parseStored(storedEntrySchema, stored);
    if (!entry.ok) return entry;
    return entry.value.evaluator === this.evaluator.name ? ok(entry.value) : err([this.otherEvaluator(entry.value.evaluator)]);
  }

  private otherEvaluator(found: string): ValidationIssue {
    return issue(['evaluator'], `expected "${this.evaluator.name}", the rules engine of this ingest; found "${found}" (state written by another rules engine)`);
  }
}

/** Rows written between two turns of the event loop, so batches wait at most one slice. */
export const COMMIT_SLICE = RECORDS_PER_PART;

/** One part of a checkpoint or entry: a slice of the cut's windows and a slice of its devices. */
interface StoredPart {
  readonly windows: OpenMinuteWindow[];
  readonly lastReadings: Record<string, Readings>;
  readonly lastActivity: Record<string, number>;
  /** A checkpoint's piece of rule state (see `RuleStatePieces`), while the cut has entries left. */
  rules?: unknown[];
}

/**
 * A cut in parts of up to `size` windows and `size` devices, each built only when it is written:
 * the cut's devices and windows stay as they were cut while it is written (see `CommitCut`), so a
 * part built later holds what it would have then. Built all at once, the parts of a partition's
 * whole state held its turn for up to 9 ms (2,500 devices and their windows), in which no batch ran
 * (docs/performance.md, "Eleventh round"); one part is a few hundred microseconds. How many parts
 * there are is known once the last is built.
 */
class CutParts {
  private device = 0;
  private readonly windows: CutWindows;
  private readonly devices: readonly DeviceAtCut[];
  private readonly rules: RuleStatePieceSource | undefined;
  /** Parts built so far. */
  count = 0;
  /** Windows and devices in the parts built so far. */
  records = 0;

  constructor(
    cut: CommitCut,
    private readonly size: number,
  ) {
    this.devices = cut.devices;
    this.windows = storedWindows(cut);
    this.rules = cut.rulePieces;
  }

  /** True when every window, device and rule state entry is in a part built (and at least one part is). */
  get done(): boolean {
    return this.count > 0 && this.device >= this.devices.length && this.windows.done && (this.rules === undefined || this.rules.done);
  }

  next(): StoredPart {
    const part: StoredPart = {
      // The windows go as they are: each serialises itself (`toJSON`) when the store writes them.
      windows: this.windows.take(this.size) as unknown as OpenMinuteWindow[],
      lastReadings: {},
      lastActivity: {},
    };
    const start = this.device;
    const end = Math.min(this.devices.length, start + this.size);
    for (; this.device < end; this.device++) {
      const { deviceId, lastReadings, lastActivityTime } = this.devices[this.device]!;
      part.lastReadings[deviceId] = lastReadings;
      if (Number.isFinite(lastActivityTime)) part.lastActivity[deviceId] = lastActivityTime;
    }
    if (this.rules !== undefined && !this.rules.done) part.rules = this.rules.next(this.size);
    this.count++;
    this.records += part.windows.length + end - start;
    return part;
  }
}
