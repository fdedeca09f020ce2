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

/**
 * Per-device per-minute aggregates (the CFS `crmiotevents` rows) of one telemetry partition.
 * Windows stay open while events may still fall into them; rows are written as they grow (the
 * store upserts by device, reading type and window end), so the table is current at any time.
 */
export class MinuteAggregates {
  constructor(
    readonly windows: Map<string, OpenMinuteWindow> = new Map(),
    /** Windows ending at or before this are closed; a reading for one of them is too late. */
    public closedThrough = Number.NEGATIVE_INFINITY,
  ) {}

  copy(): MinuteAggregates {
    const windows = new Map<string, OpenMinuteWindow>();
    for (const [k, w] of this.windows) windows.set(k, { ...w });
    return new MinuteAggregates(windows, this.closedThrough);
  }

  /** Adds one reading; returns the key of the window it went into, or undefined when it came too late. */
  add(deviceId: string, readingType: string, value: number, time: number): string | undefined {
    const windowEnd = minuteWindowEnd(time);
    if (windowEnd <= this.closedThrough) return undefined;
    const key = keyOf(deviceId, readingType, windowEnd);
    const w = this.windows.get(key);
    if (w === undefined) this.windows.set(key, { deviceId, readingType, windowEnd, count: 1, min: value, max: value, sum: value });
    else {
      w.count++;
      w.min = Math.min(w.min, value);
      w.max = Math.max(w.max, value);
      w.sum += value;
    }
    return key;
  }

  row(key: string): MinuteAggregate | undefined {
    const w = this.windows.get(key);
    return w === undefined ? undefined : { deviceId: w.deviceId, readingType: w.readingType, windowEnd: w.windowEnd, count: w.count, min: w.min, max: w.max, avg: w.sum / w.count };
  }

  /** Closes every window that ended more than `graceMs` before event time `now`. */
  close(now: number, graceMs: number): void {
    const through = minuteWindowEnd(now - graceMs) - MINUTE_MS;
    if (through <= this.closedThrough) return;
    this.closedThrough = through;
    for (const [k, w] of this.windows) if (w.windowEnd <= through) this.windows.delete(k);
  }

  toSnapshot(): unknown {
    return { closedThrough: Number.isFinite(this.closedThrough) ? this.closedThrough : null, windows: [...this.windows.values()] };
  }

  static fromSnapshot(snapshot: unknown): MinuteAggregates | undefined {
    if (typeof snapshot !== 'object' || snapshot === null) return undefined;
    const { closedThrough, windows } = snapshot as { closedThrough?: unknown; windows?: unknown };
    if (!(closedThrough === null || typeof closedThrough === 'number') || !Array.isArray(windows)) return undefined;
    const map = new Map<string, OpenMinuteWindow>();
    for (const w of windows as OpenMinuteWindow[]) {
      if (typeof w?.deviceId !== 'string' || typeof w.readingType !== 'string' || typeof w.windowEnd !== 'number' || typeof w.count !== 'number') return undefined;
      map.set(keyOf(w.deviceId, w.readingType, w.windowEnd), { ...w });
    }
    return new MinuteAggregates(map, closedThrough ?? Number.NEGATIVE_INFINITY);
  }
}
