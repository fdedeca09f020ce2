// Flows 3–6 (ingest state): what one telemetry partition knows: windows, last readings, rule state.
import { err, issue, ok, type Result, type TelemetryEvent, type ValidationIssue } from '@fieldlink/domain';
import type { TelemetryEnvelope } from '@fieldlink/ports';
import { closedThroughAt, minuteAggregatesData, minuteWindowEnd, type MinuteAggregatesData } from './minute-aggregates.js';
import { flatCopy } from './flat-copy.js';
import { WindowRows, type MinuteWindow } from './window-rows.js';
import type { RuleEvaluator, RuleStatePieceSource } from '../rule-evaluator.js';

export { MinuteWindow } from './window-rows.js';

export type Readings = Readonly<Record<string, number>>;

/** Where a partition's stored copy stands: the checkpoint it starts from, and what the journal holds after it. */
export interface JournalPosition {
  /** The checkpoint's id; undefined when there is none the journal could follow. */
  readonly epoch: string | undefined;
  /** Where the checkpoint's parts are (0 or 1): the next checkpoint writes its parts in the other. */
  readonly slot: number;
  /** Entries written after the checkpoint. */
  readonly entries: number;
  /** Records (windows, devices) those entries hold, and the checkpoint holds. */
  readonly journaledRecords: number;
  readonly checkpointRecords: number;
  /**
   * The stored copy was written by another instance and is behind what this one holds: the next
   * commit writes a checkpoint over it, after reading the keys it will replace again.
   */
  readonly rebase?: true;
}

/** The whole state of a partition, as stored in a checkpoint. */
export interface PartitionSnapshot {
  readonly lastSequence: number;
  readonly latestTime: number;
  readonly rules: unknown;
  readonly aggregates: MinuteAggregatesData;
  /** Each device's last value of every reading type. */
  readonly lastReadings: Readonly<Record<string, Readings>>;
  /** Each device's latest event time (absent from states stored by earlier versions). */
  readonly lastActivity?: Readonly<Record<string, number>> | undefined;
}

/** What the batches since the last save changed, as stored in a journal entry: the same fields, holding only the changed windows and devices. */
export type PartitionChanges = PartitionSnapshot;

/** A device as a commit's cut holds it: never changed once cut (the partition changes a copy instead). */
export interface DeviceAtCut {
  readonly deviceId: string;
  readonly lastActivityTime: number;
  readonly lastReadings: Readings;
  /** Its minute windows (rows of the partition's `WindowRows`), closed ones not yet let go included. */
  readonly windows: readonly number[];
}

/**
 * What a partition knows of one device: its open minute windows, last readings and latest event
 * time. Changed in place within one commit's generation (`changedIn`); held by a cut being
 * written, its first change in a later generation changes a copy, which takes its place.
 */
class DeviceStatus implements DeviceAtCut {
  lastActivityTime = Number.NEGATIVE_INFINITY;
  lastReadings: Record<string, number> = {};
  windows: number[] = [];
  /** The generation this device last changed in. */
  changedIn = -1;
  constructor(readonly deviceId: string) {}

  copyFor(generation: number): DeviceStatus {
    const copy = new DeviceStatus(this.deviceId);
    copy.lastActivityTime = this.lastActivityTime;
    copy.lastReadings = { ...this.lastReadings };
    copy.windows = this.windows.slice();
    copy.changedIn = generation;
    return copy;
  }
}

/**
 * The windows of a cut's devices that `keep` takes, walked a few at a time as a commit writes them:
 * a cut is never walked whole in one turn of the event loop.
 */
export class CutWindows {
  private device = 0;
  private window = 0;

  constructor(
    private readonly devices: readonly DeviceAtCut[],
    private readonly rows: WindowRows,
    private readonly keep: (row: number) => boolean,
  ) {}

  /** True when no window is left. */
  get done(): boolean {
    return this.peek() === undefined;
  }

  /** The next `count` windows (fewer at the end), each a value of its own. */
  take(count: number): MinuteWindow[] {
    const taken: MinuteWindow[] = [];
    for (let row = this.peek(); row !== undefined && taken.length < count; row = this.peek()) {
      taken.push(this.rows.window(row, this.devices[this.device]!.deviceId));
      this.window++;
    }
    return taken;
  }

  private peek(): number | undefined {
    const devices = this.devices;
    for (; this.device < devices.length; this.device++, this.window = 0) {
      const windows = devices[this.device]!.windows;
      for (; this.window < windows.length; this.window++) if (this.keep(windows[this.window]!)) return windows[this.window];
    }
    return undefined;
  }
}

/**
 * What one commit stores, taken at once between two batches: the position, the devices that changed
 * since the last commit (for the rows and a journal entry), every device when a checkpoint is due,
 * and the rule state. Taking it copies no device and no window: it holds them as they are, and the
 * partition copies one of them before changing it while the cut is written (batches go on
 * meanwhile: what they change belongs to the next commit). Its windows are read through
 * `changedWindows` and `storedWindows`.
 */
export interface CommitCut {
  readonly kind: 'checkpoint' | 'entry';
  readonly generation: number;
  readonly lastSequence: number;
  readonly latestTime: number;
  readonly lastEnvelope: TelemetryEnvelope | undefined;
  readonly closedThrough: number;
  /** Changed since the last commit: whose rows to write. */
  readonly changedDevices: readonly DeviceAtCut[];
  /** For a checkpoint, every device; for an entry, the changed ones. */
  readonly devices: readonly DeviceAtCut[];
  /** The rule state (a checkpoint, or an evaluator without change tracking) or its unsaved changes; undefined when `rulePieces` holds it. */
  readonly rules: unknown;
  /** A checkpoint's rule state as the evaluator copied it at the cut, to store in pieces (an evaluator with `pieces`). */
  readonly rulePieces: RuleStatePieceSource | undefined;
  /** The evaluator's unsaved changes the cut covers, to forget once it is stored. */
  readonly unsavedRules: unknown;
  /** The partition's windows, where the rows of the cut's devices are (none of them changes while the cut is written). */
  readonly rows: WindowRows;
}

/** The windows changed since the last commit: the aggregate rows a cut writes. */
export const changedWindows = (cut: CommitCut): CutWindows => new CutWindows(cut.changedDevices, cut.rows, (row) => cut.rows.changedIn(row) === cut.generation);

/** The windows a cut stores: for a checkpoint every open window, for an entry the changed ones still open. */
export const storedWindows = (cut: CommitCut): CutWindows =>
  new CutWindows(
    cut.devices,
    cut.rows,
    (row) => cut.rows.windowEnd(row) > cut.closedThrough && (cut.kind === 'checkpoint' || cut.rows.changedIn(row) === cut.generation),
  );

/**
 * What ingest remembers of one telemetry partition: how far it got, the rule state, each device's
 * open minute windows (the CFS `crmiotevents` rows being built), last readings and latest event.
 *
 * Batches change it in memory, only once their effects are stored (`foldBatch`, `record`); the
 * rule state of a batch is a view until then, so a batch that fails leaves no trace. A commit
 * takes a `cut` (cheap: references, the changed values are never changed in place afterwards),
 * writes it while batches go on, then says how it went (`cutStored` or `cutFailed`): so a commit
 * costs what the batches since the last one touched, and a batch only its readings.
 */
export class PartitionState {
  lastSequence = -1;
  latestTime = 0;
  /** The envelope at `lastSequence`: the intake's checkpoint is marked through it once it is saved. */
  lastEnvelope: TelemetryEnvelope | undefined;
  /** Windows ending at or before this are closed: a reading for one of them comes too late. */
  closedThrough = Number.NEGATIVE_INFINITY;
  journal: JournalPosition = { epoch: undefined, slot: 0, entries: 0, journaledRecords: 0, checkpointRecords: 0 };
  /** When the last commit was cut (the ingest's clock); a partition new to this process counts from its first batch. */
  lastCommitAt: number | undefined;

  /** Rule state with every folded batch (what it took in since the last stored commit is its unsaved part). */
  private rules: unknown;
  private readonly devices = new Map<string, DeviceStatus>();
  private readonly rows = new WindowRows();
  /** Rows the cut being written holds that the partition replaced by copies: given back once the cut is done. */
  private superseded: number[] = [];
  /** Devices changed in the current generation (since the last cut). */
  private changed: DeviceStatus[] = [];
  private generation = 0;
  /** The cut being written, whose values must stay as they were: what it holds is copied before it changes. */
  private inFlight: { readonly generation: number; readonly whole: boolean } | undefined;
  private uncommittedWork = false;
  private sweptThrough = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly evaluator: RuleEvaluator<unknown>,
    rules: unknown = evaluator.initialState(),
  ) {
    this.rules = rules;
  }

  /** How many devices batches changed since the last cut: what a commit in flight will leave for the next one. */
  get changedSinceCut(): number {
    return this.changed.length;
  }

  /** True when batches changed something since the last cut (or a cut failed). */
  get uncommitted(): boolean {
    return this.uncommittedWork;
  }

  /** A view of the rule state for one batch: the state itself changes only when the batch is folded in. */
  beginBatch(): unknown {
    const changes = this.evaluator.changes;
    return changes === undefined ? this.evaluator.copy(this.rules) : changes.begin(this.rules);
  }

  /**
   * Takes in a batch whose effects (alerts, rejections) are stored: its rule state and its
   * position. `worthCommitting` false (time passing that raised nothing) folds it in without
   * making a commit due: replayed after a restart, the same time gives the same state.
   */
  foldBatch(rules: unknown, lastSequence: number, latestTime: number, lastEnvelope: TelemetryEnvelope | undefined, worthCommitting = true): void {
    const changes = this.evaluator.changes;
    if (changes === undefined) this.rules = rules;
    else changes.commit(rules);
    if (lastSequence > this.lastSequence) {
      this.lastSequence = lastSequence;
      this.lastEnvelope = lastEnvelope;
    }
    this.latestTime = Math.max(this.latestTime, latestTime);
    if (worthCommitting) this.uncommittedWork = true;
  }

  /** Adds an event to its device's minute windows, last readings and activity; returns the reading types that came too late for their minute. */
  record(event: TelemetryEvent): string[] | undefined {
    const generation = this.generation;
    let device = this.device(event.deviceId);
    if (device.changedIn !== generation) {
      if (this.heldByCut(device.changedIn)) this.devices.set(device.deviceId, (device = device.copyFor(generation)));
      else device.changedIn = generation;
      this.changed.push(device);
    }
    if (event.enqueuedTime > device.lastActivityTime) device.lastActivityTime = event.enqueuedTime;
    const windowEnd = minuteWindowEnd(event.enqueuedTime);
    const open = windowEnd > this.closedThrough;
    let late: string[] | undefined;
    const readings = event.readings;
    let windows = device.windows;
    const rows = this.rows;
    for (const readingType in readings) {
      const value = readings[readingType]!;
      device.lastReadings[readingType] = value;
      if (!open) {
        (late ??= []).push(readingType);
        continue;
      }
      const at = rows.indexIn(windows, readingType, windowEnd);
      if (at < 0) {
        // A new array of the exact length (a window is new once a minute): one that grew by `push` would hold 17.
        device.windows = windows = windows.concat(rows.add(readingType, windowEnd, value, generation, event.eventToken, event.enqueuedTime));
        continue;
      }
      let row = windows[at]!;
      const changedIn = rows.changedIn(row);
      if (changedIn !== generation) {
        if (this.heldByCut(changedIn)) {
          this.superseded.push(row);
          windows[at] = row = rows.copy(row, generation);
        } else rows.setChangedIn(row, generation);
      }
      rows.take(row, value, event.eventToken, event.enqueuedTime);
    }
    this.uncommittedWork = true;
    return late;
  }

  /** Event time reached `now`: windows that ended more than `graceMs` before it close. */
  close(now: number, graceMs: number): void {
    const through = closedThroughAt(now, graceMs);
    if (through > this.closedThrough) this.closedThrough = through;
  }

  /** Whether a value last changed in `generation` is held by the cut being written (then it is copied, not changed). */
  private heldByCut(generation: number): boolean {
    const cut = this.inFlight;
    return cut !== undefined && (cut.whole || generation === cut.generation);
  }

  /** Takes what the next commit stores (see `CommitCut`) and starts a new generation for the batches that follow. */
  cut(kind: 'checkpoint' | 'entry', at: number): CommitCut {
    const generation = this.generation;
    const changedDevices: readonly DeviceAtCut[] = this.changed;
    const changes = this.evaluator.changes;
    const unsavedRules = changes?.unsaved(this.rules);
    const rulePieces = kind === 'checkpoint' ? this.evaluator.pieces?.take(this.rules) : undefined;
    const rules = rulePieces !== undefined ? undefined : kind === 'checkpoint' || changes === undefined ? this.evaluator.toSnapshot(this.rules) : unsavedRules;
    const cut: CommitCut = {
      kind,
      generation,
      lastSequence: this.lastSequence,
      latestTime: this.latestTime,
      lastEnvelope: this.lastEnvelope,
      closedThrough: this.closedThrough,
      changedDevices,
      devices: kind === 'checkpoint' ? Array.from(this.devices.values()) : changedDevices,
      rules,
      rulePieces,
      unsavedRules,
      rows: this.rows,
    };
    this.inFlight = { generation, whole: kind === 'checkpoint' };
    this.generation++;
    this.changed = [];
    this.uncommittedWork = false;
    this.lastCommitAt = at;
    return cut;
  }

  /** The cut is stored: its rule changes are saved, and windows closed by then are let go. */
  cutStored(cut: CommitCut): void {
    this.cutDone();
    if (cut.unsavedRules !== undefined) this.evaluator.changes?.saved(this.rules, cut.unsavedRules);
    if (cut.closedThrough > this.sweptThrough) {
      const closed = cut.closedThrough;
      for (const device of this.devices.values()) this.dropClosed(device.windows, closed);
      this.sweptThrough = closed;
    }
  }

  /** No cut holds anything now: the rows it held that were replaced by copies go back. */
  private cutDone(): void {
    this.inFlight = undefined;
    for (const row of this.superseded) this.rows.release(row);
    this.superseded = [];
  }

  /** The cut could not be stored: what it held counts as changed again, for the next commit. */
  cutFailed(cut: CommitCut): void {
    this.cutDone();
    const generation = this.generation;
    for (const { deviceId } of cut.changedDevices) {
      const device = this.devices.get(deviceId)!;
      if (device.changedIn !== generation) {
        device.changedIn = generation;
        this.changed.push(device);
      }
      for (const row of device.windows) if (this.rows.changedIn(row) === cut.generation) this.rows.setChangedIn(row, generation);
    }
    this.uncommittedWork = true;
  }

  /**
   * Applies a stored checkpoint (to a fresh state) or a journal entry (to the state restored so
   * far); the issues, with their paths in the stored blob, when it is not one this evaluator
   * wrote (the state is then of no use).
   */
  replay(stored: PartitionSnapshot | PartitionChanges, kind: 'checkpoint' | 'entry'): Result<void, ValidationIssue[]> {
    const aggregates = minuteAggregatesData(stored.aggregates);
    // States saved before last readings (or activity) were kept have none: they fill again with the next readings.
    const lastReadings = stored.lastReadings === undefined ? new Map<string, Readings>() : lastReadingsOf(stored.lastReadings);
    const lastActivity = stored.lastActivity === undefined ? new Map<string, number>() : lastActivityOf(stored.lastActivity);
    if (aggregates === undefined) return err([issue(['aggregates'], 'expected minute windows')]);
    if (lastReadings === undefined) return err([issue(['lastReadings'], 'expected the last readings of each device')]);
    if (lastActivity === undefined) return err([issue(['lastActivity'], 'expected the latest event time of each device')]);
    const changes = this.evaluator.changes;
    if (changes === undefined || kind === 'checkpoint') {
      const rules = this.evaluator.fromSnapshot(stored.rules);
      if (!rules.ok) return err(underRules(rules.error));
      this.rules = rules.value;
    } else {
      const replayed = changes.replay(this.rules, stored.rules);
      if (!replayed.ok) return err(underRules(replayed.error));
    }
    for (const [deviceId, readings] of lastReadings) this.device(deviceId).lastReadings = { ...readings };
    for (const [deviceId, time] of lastActivity) this.device(deviceId).lastActivityTime = time;
    for (const w of aggregates.windows) {
      const device = this.device(w.deviceId);
      const row = this.rows.addStored(w, -1);
      const at = this.rows.indexIn(device.windows, w.readingType, w.windowEnd);
      if (at >= 0) {
        this.rows.release(device.windows[at]!);
        device.windows[at] = row;
      } else device.windows = device.windows.concat(row);
    }
    const closedThrough = aggregates.closedThrough ?? Number.NEGATIVE_INFINITY;
    if (closedThrough > this.closedThrough) {
      this.closedThrough = closedThrough;
      for (const device of this.devices.values()) this.dropClosed(device.windows, closedThrough);
    }
    this.lastSequence = stored.lastSequence;
    this.latestTime = stored.latestTime;
    return ok(undefined);
  }

  /** Drops the windows that ended at or before `closed`, in place (a minute's end allocates nothing per device), and gives their rows back. */
  private dropClosed(windows: number[], closed: number): void {
    let kept = 0;
    for (let i = 0; i < windows.length; i++) {
      const row = windows[i]!;
      if (this.rows.windowEnd(row) > closed) windows[kept++] = row;
      else this.rows.release(row);
    }
    windows.length = kept;
  }

  private device(deviceId: string): DeviceStatus {
    let device = this.devices.get(deviceId);
    if (device === undefined) {
      device = new DeviceStatus(flatCopy(deviceId));
      this.devices.set(device.deviceId, device);
    }
    return device;
  }
}

/** The windows and devices a snapshot or a journal entry holds (rule state is small beside them). */
export function recordsIn(stored: PartitionSnapshot | PartitionChanges): number {
  const windows = (stored.aggregates as { windows?: unknown } | null)?.windows;
  return (Array.isArray(windows) ? windows.length : 0) + Object.keys(stored.lastReadings ?? {}).length;
}

/** The rule state's issues, as paths of the stored blob. */
const underRules = (issues: readonly ValidationIssue[]): ValidationIssue[] =>
  issues.map((i) => ({ path: i.path === '(root)' ? 'rules' : `rules.${i.path}`, message: i.message }));

function lastReadingsOf(stored: unknown): Map<string, Readings> | undefined {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return undefined;
  const map = new Map<string, Readings>();
  for (const [deviceId, readings] of Object.entries(stored)) {
    if (typeof readings !== 'object' || readings === null || Array.isArray(readings)) return undefined;
    if (!Object.values(readings).every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
    map.set(deviceId, readings as Readings);
  }
  return map;
}

function lastActivityOf(stored: unknown): Map<string, number> | undefined {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return undefined;
  const map = new Map<string, number>();
  for (const [deviceId, time] of Object.entries(stored)) {
    if (typeof time !== 'number' || !Number.isFinite(time)) return undefined;
    map.set(deviceId, time);
  }
  return map;
}
