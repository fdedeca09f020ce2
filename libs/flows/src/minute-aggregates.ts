import type { MinuteAggregate } from '@fieldlink/ports';

export const MINUTE_MS = 60_000;

/**
 * The end of the one-minute tumbling window that holds `time`: windows include their end and
 * exclude their start (Stream Analytics), so 12:01:00.000 belongs to the 12:00–12:01 window.
 */
export const minuteWindowEnd = (time: number): number => Math.ceil(time / MINUTE_MS) * MINUTE_MS;

/** A window still open for one device and reading type; sums, so late rows can be merged exactly. */
export interface OpenMinuteWindow {
  readonly deviceId: string;
  readonly readingType: string;
  readonly windowEnd: number;
  count: number;
  min: number;
  max: number;
  sum: number;
}

const keyOf = (deviceId: string, readingType: string, windowEnd: number): string => `${deviceId}\u0000${readingType}\u0000${windowEnd}`;
const closedThroughAt = (now: number, graceMs: number): number => minuteWindowEnd(now - graceMs) - MINUTE_MS;

/** Open windows and how far windows are closed: the snapshot of all of them, or what one batch changed. */
interface MinuteAggregatesData {
  readonly closedThrough: number | null;
  readonly windows: readonly OpenMinuteWindow[];
}

/**
 * Per-device per-minute aggregates (the CFS `crmiotevents` rows) of one telemetry partition.
 * Windows stay open while events may still fall into them; rows are written as they grow (the
 * store upserts by device, reading type and window end), so the table is current at any time.
 * This is the committed state: a batch changes a `MinuteAggregatesBatch` begun on it, which copies
 * only the windows the batch touches, and the batch's changes come back here with `apply`.
 */
export class MinuteAggregates {
  /** Open windows by window end, so closing a minute drops its windows at once. */
  private readonly byEnd = new Map<number, Map<string, OpenMinuteWindow>>();
  /** Windows ending at or before this are closed; a reading for one of them is too late. */
  private closed = Number.NEGATIVE_INFINITY;

  get closedThrough(): number {
    return this.closed;
  }

  get size(): number {
    let size = 0;
    for (const windows of this.byEnd.values()) size += windows.size;
    return size;
  }

  window(windowEnd: number, key: string): OpenMinuteWindow | undefined {
    return this.byEnd.get(windowEnd)?.get(key);
  }

  /** A batch over these windows; they change only when its changes are applied. */
  begin(): MinuteAggregatesBatch {
    return new MinuteAggregatesBatch(this);
  }

  /** Takes in a batch's changes (or a saved snapshot): its windows replace these, then closes what it closed. */
  apply(changes: MinuteAggregatesData): void {
    const closedThrough = changes.closedThrough ?? Number.NEGATIVE_INFINITY;
    for (const w of changes.windows) {
      if (w.windowEnd <= closedThrough) continue;
      const windows = this.byEnd.get(w.windowEnd) ?? new Map<string, OpenMinuteWindow>();
      this.byEnd.set(w.windowEnd, windows);
      windows.set(keyOf(w.deviceId, w.readingType, w.windowEnd), { ...w });
    }
    if (closedThrough > this.closed) {
      this.closed = closedThrough;
      for (const end of this.byEnd.keys()) if (end <= closedThrough) this.byEnd.delete(end);
    }
  }

  toSnapshot(): unknown {
    return snapshotOf(this.closed, this.openWindows());
  }

  *openWindows(): Generator<OpenMinuteWindow> {
    for (const windows of this.byEnd.values()) yield* windows.values();
  }

  static fromSnapshot(snapshot: unknown): MinuteAggregates | undefined {
    const data = minuteAggregatesData(snapshot);
    if (data === undefined) return undefined;
    const aggregates = new MinuteAggregates();
    aggregates.apply(data);
    return aggregates;
  }

  /** Applies a batch's changes read back from the journal; false when they are not changes of minute windows. */
  replay(changes: unknown): boolean {
    const data = minuteAggregatesData(changes);
    if (data === undefined) return false;
    this.apply(data);
    return true;
  }
}

/** One batch's view of the minute windows: the windows it touches are copied on first touch. */
export class MinuteAggregatesBatch {
  private readonly touched = new Map<string, OpenMinuteWindow>();
  private closed: number;

  constructor(private readonly committed: MinuteAggregates) {
    this.closed = committed.closedThrough;
  }

  get closedThrough(): number {
    return this.closed;
  }

  /** Adds one reading; returns the key of the window it went into, or undefined when it came too late. */
  add(deviceId: string, readingType: string, value: number, time: number): string | undefined {
    const windowEnd = minuteWindowEnd(time);
    if (windowEnd <= this.closed) return undefined;
    const key = keyOf(deviceId, readingType, windowEnd);
    const w = this.touched.get(key);
    if (w !== undefined) {
      grow(w, value);
      return key;
    }
    const before = this.committed.window(windowEnd, key);
    const copy = before === undefined ? { deviceId, readingType, windowEnd, count: 1, min: value, max: value, sum: value } : grow({ ...before }, value);
    this.touched.set(key, copy);
    return key;
  }

  row(key: string): MinuteAggregate | undefined {
    const w = this.touched.get(key) ?? this.committed.window(windowEndOfKey(key), key);
    return w === undefined || w.windowEnd <= this.closed ? undefined : { deviceId: w.deviceId, readingType: w.readingType, windowEnd: w.windowEnd, count: w.count, min: w.min, max: w.max, avg: w.sum / w.count };
  }

  /** Closes every window that ended more than `graceMs` before event time `now`. */
  close(now: number, graceMs: number): void {
    this.closed = Math.max(this.closed, closedThroughAt(now, graceMs));
  }

  /** What the batch changed: the windows it touched that are still open, and how far windows are closed. */
  changes(): MinuteAggregatesData {
    return { closedThrough: finiteOrNull(this.closed), windows: [...this.touched.values()].filter((w) => w.windowEnd > this.closed) };
  }

  /** The whole state with this batch's changes, as `MinuteAggregates.toSnapshot` would give it once applied. */
  toSnapshot(): unknown {
    const windows: OpenMinuteWindow[] = [];
    for (const w of this.committed.openWindows()) if (w.windowEnd > this.closed && !this.touched.has(keyOf(w.deviceId, w.readingType, w.windowEnd))) windows.push(w);
    for (const w of this.touched.values()) if (w.windowEnd > this.closed) windows.push(w);
    return snapshotOf(this.closed, windows);
  }
}

function grow(w: OpenMinuteWindow, value: number): OpenMinuteWindow {
  w.count++;
  w.min = Math.min(w.min, value);
  w.max = Math.max(w.max, value);
  w.sum += value;
  return w;
}

const finiteOrNull = (n: number): number | null => (Number.isFinite(n) ? n : null);
const windowEndOfKey = (key: string): number => Number(key.slice(key.lastIndexOf('\u0000') + 1));
const snapshotOf = (closedThrough: number, windows: Iterable<OpenMinuteWindow>): MinuteAggregatesData => ({ closedThrough: finiteOrNull(closedThrough), windows: [...windows] });

function minuteAggregatesData(snapshot: unknown): MinuteAggregatesData | undefined {
  if (typeof snapshot !== 'object' || snapshot === null) return undefined;
  const { closedThrough, windows } = snapshot as { closedThrough?: unknown; windows?: unknown };
  if (!(closedThrough === null || typeof closedThrough === 'number') || !Array.isArray(windows)) return undefined;
  for (const w of windows as OpenMinuteWindow[]) {
    if (typeof w?.deviceId !== 'string' || typeof w.readingType !== 'string' || typeof w.windowEnd !== 'number' || typeof w.count !== 'number') return undefined;
  }
  return { closedThrough, windows: windows as OpenMinuteWindow[] };
}
