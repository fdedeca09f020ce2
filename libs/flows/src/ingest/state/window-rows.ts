// Flow 5 (ingest state): a partition's minute windows as rows of typed columns.
import type { MinuteAggregate, WindowPeak } from '@fieldlink/ports';
import type { OpenMinuteWindow } from './minute-aggregates.js';
import { grownFloat64, grownInt32, NameCodes } from './typed-columns.js';

/** No row. */
const NONE = -1;

/**
 * The minute windows of one partition, one row each: the reading type (an index into the
 * partition's reading types), the window's end, count, min, max, sum and peak time as numbers in
 * typed arrays, the generation it last changed in, and the peak event's token. A device holds the
 * numbers of its rows (`DeviceStatus.windows`). A window object of its own held about ten fields,
 * each number in a box of its own: about 170 bytes a window on V8's heap, against 64 bytes a row
 * here (docs/performance.md, "Seventeenth round").
 *
 * A row is never changed while a commit's cut holds it: the partition copies it (`copy`) and
 * changes the copy, as it did a window object. What the partition no longer holds goes back with
 * `free` and is used again by the next window; nothing reads a freed row.
 */
export class WindowRows {
  private readonly readingTypes = new NameCodes();
  private typeOf: Int32Array = new Int32Array(0);
  private windowEndOf: Float64Array = new Float64Array(0);
  private countOf: Float64Array = new Float64Array(0);
  private minOf: Float64Array = new Float64Array(0);
  private maxOf: Float64Array = new Float64Array(0);
  private sumOf: Float64Array = new Float64Array(0);
  /** NaN for a window with no peak (a stored window of an earlier version). */
  private peakTimeOf: Float64Array = new Float64Array(0);
  /** The generation of the partition the row last changed in; for a free row, the next free one. */
  private changedInOf: Int32Array = new Int32Array(0);
  private peakTokenOf: Array<string | undefined> = [];
  private used = 0;
  private free = NONE;
  private live = 0;

  /** Rows in use. */
  get size(): number {
    return this.live;
  }

  /** A new window holding one reading. */
  add(readingType: string, windowEnd: number, value: number, generation: number, peakToken: string, peakTime: number): number {
    const row = this.allocate();
    this.typeOf[row] = this.readingTypes.codeOf(readingType);
    this.windowEndOf[row] = windowEnd;
    this.countOf[row] = 1;
    this.minOf[row] = value;
    this.maxOf[row] = value;
    this.sumOf[row] = value;
    this.peakTimeOf[row] = peakTime;
    this.changedInOf[row] = generation;
    this.peakTokenOf[row] = peakToken;
    return row;
  }

  /** A window as stored (a checkpoint's or journal entry's), changed in `generation`. */
  addStored(w: OpenMinuteWindow, generation: number): number {
    const row = this.allocate();
    this.typeOf[row] = this.readingTypes.codeOf(w.readingType);
    this.windowEndOf[row] = w.windowEnd;
    this.countOf[row] = w.count;
    this.minOf[row] = w.min;
    this.maxOf[row] = w.max;
    this.sumOf[row] = w.sum;
    this.peakTimeOf[row] = w.peakToken === undefined || w.peakTime === undefined ? Number.NaN : w.peakTime;
    this.changedInOf[row] = generation;
    this.peakTokenOf[row] = w.peakToken;
    return row;
  }

  /** A copy of `row`, changed in `generation` (the row itself stays as it is). */
  copy(row: number, generation: number): number {
    const to = this.allocate();
    this.typeOf[to] = this.typeOf[row]!;
    this.windowEndOf[to] = this.windowEndOf[row]!;
    this.countOf[to] = this.countOf[row]!;
    this.minOf[to] = this.minOf[row]!;
    this.maxOf[to] = this.maxOf[row]!;
    this.sumOf[to] = this.sumOf[row]!;
    this.peakTimeOf[to] = this.peakTimeOf[row]!;
    this.changedInOf[to] = generation;
    this.peakTokenOf[to] = this.peakTokenOf[row];
    return to;
  }

  /** Takes a reading into the window; the first event to bring the maximum stays its peak. */
  take(row: number, value: number, eventToken: string, time: number): void {
    this.countOf[row]!++;
    if (value < this.minOf[row]!) this.minOf[row] = value;
    if (value > this.maxOf[row]!) {
      this.maxOf[row] = value;
      this.peakTokenOf[row] = eventToken;
      this.peakTimeOf[row] = time;
    }
    this.sumOf[row]! += value;
  }

  /** Where among `rows` (a device's) the window of `readingType` ending at `windowEnd` is; -1 when none is. */
  indexIn(rows: readonly number[], readingType: string, windowEnd: number): number {
    const type = this.readingTypes.find(readingType);
    if (type === undefined) return NONE;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (this.windowEndOf[row] === windowEnd && this.typeOf[row] === type) return i;
    }
    return NONE;
  }

  windowEnd(row: number): number {
    return this.windowEndOf[row]!;
  }

  changedIn(row: number): number {
    return this.changedInOf[row]!;
  }

  setChangedIn(row: number, generation: number): void {
    this.changedInOf[row] = generation;
  }

  /** The row as a window of `deviceId`, a value of its own: what a commit writes. */
  window(row: number, deviceId: string): MinuteWindow {
    const peakToken = this.peakTokenOf[row];
    const peakTime = this.peakTimeOf[row]!;
    return new MinuteWindow(
      deviceId,
      this.readingTypes.nameOf(this.typeOf[row]!),
      this.windowEndOf[row]!,
      this.countOf[row]!,
      this.minOf[row]!,
      this.maxOf[row]!,
      this.sumOf[row]!,
      peakToken,
      peakToken === undefined || Number.isNaN(peakTime) ? undefined : peakTime,
    );
  }

  /** Gives the row back; it must no longer be held by a device or a cut. */
  release(row: number): void {
    this.peakTokenOf[row] = undefined;
    this.changedInOf[row] = this.free;
    this.free = row;
    this.live--;
  }

  private allocate(): number {
    this.live++;
    if (this.free !== NONE) {
      const row = this.free;
      this.free = this.changedInOf[row]!;
      return row;
    }
    if (this.used === this.typeOf.length) this.grow(Math.max(16, Math.ceil(this.used * 1.5)));
    return this.used++;
  }

  private grow(capacity: number): void {
    this.typeOf = grownInt32(this.typeOf, capacity);
    this.windowEndOf = grownFloat64(this.windowEndOf, capacity);
    this.countOf = grownFloat64(this.countOf, capacity);
    this.minOf = grownFloat64(this.minOf, capacity);
    this.maxOf = grownFloat64(this.maxOf, capacity);
    this.sumOf = grownFloat64(this.sumOf, capacity);
    this.peakTimeOf = grownFloat64(this.peakTimeOf, capacity);
    this.changedInOf = grownInt32(this.changedInOf, capacity);
  }
}

/**
 * A minute window of one device and reading type, as a commit writes it: its row's values when the
 * cut was taken (a value of its own, made as the commit reads the cut a slice at a time).
 */
export class MinuteWindow {
  constructor(
    readonly deviceId: string,
    readonly readingType: string,
    readonly windowEnd: number,
    readonly count: number,
    readonly min: number,
    readonly max: number,
    readonly sum: number,
    /** The event that brought `max` (the first one on a tie): the CFS `crmiotevents` row of the window. */
    readonly peakToken: string | undefined,
    readonly peakTime: number | undefined,
  ) {}

  /** The stored form, made as a store serialises the window; a member left undefined is not written, as JSON drops it: no peak without its token. */
  toJSON(): OpenMinuteWindow {
    return {
      deviceId: this.deviceId,
      readingType: this.readingType,
      windowEnd: this.windowEnd,
      count: this.count,
      min: this.min,
      max: this.max,
      sum: this.sum,
      peakToken: this.peakToken,
      peakTime: this.peakToken === undefined ? undefined : this.peakTime,
    };
  }

  /** The window's row, with `peak` (the CFS `crmiotevents` columns) when given: one object either way. */
  row(peak?: WindowPeak): MinuteAggregate {
    const { deviceId, readingType, windowEnd, count, min, max } = this;
    const avg = this.sum / count;
    return peak === undefined ? { deviceId, readingType, windowEnd, count, min, max, avg } : { deviceId, readingType, windowEnd, count, min, max, avg, peak };
  }
}
