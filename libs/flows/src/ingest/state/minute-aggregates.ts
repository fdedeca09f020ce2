// Flow 5 (ingest state): per-minute windows of a device's readings, as kept and as stored.
export const MINUTE_MS = 60_000;

/**
 * The end of the one-minute tumbling window that holds `time`: windows include their end and
 * exclude their start (Stream Analytics), so 12:01:00.000 belongs to the 12:00–12:01 window.
 */
export const minuteWindowEnd = (time: number): number => Math.ceil(time / MINUTE_MS) * MINUTE_MS;

/** Windows ending at or before this are closed once event time reached `now`, allowing `graceMs` of late arrival. */
export const closedThroughAt = (now: number, graceMs: number): number => minuteWindowEnd(now - graceMs) - MINUTE_MS;

/** A window still open for one device and reading type, as stored; sums, so late rows can be merged exactly. */
export interface OpenMinuteWindow {
  readonly deviceId: string;
  readonly readingType: string;
  readonly windowEnd: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  /** The event that brought `max` (absent from states stored by earlier versions). */
  readonly peakToken?: string | undefined;
  readonly peakTime?: number | undefined;
}

/** Open windows and how far windows are closed, as stored: all of them (a checkpoint), or those one commit changed (a journal entry). */
export interface MinuteAggregatesData {
  readonly closedThrough: number | null;
  readonly windows: readonly OpenMinuteWindow[];
}

/** The stored form read back; undefined when it is not minute windows. */
export function minuteAggregatesData(stored: unknown): MinuteAggregatesData | undefined {
  if (typeof stored !== 'object' || stored === null) return undefined;
  const { closedThrough, windows } = stored as { closedThrough?: unknown; windows?: unknown };
  if (!(closedThrough === null || typeof closedThrough === 'number') || !Array.isArray(windows)) return undefined;
  for (const w of windows as OpenMinuteWindow[]) {
    if (typeof w?.deviceId !== 'string' || typeof w.readingType !== 'string' || typeof w.windowEnd !== 'number' || typeof w.count !== 'number')
      return undefined;
    if (typeof w.min !== 'number' || typeof w.max !== 'number' || typeof w.sum !== 'number') return undefined;
    if (w.peakToken !== undefined && (typeof w.peakToken !== 'string' || typeof w.peakTime !== 'number')) return undefined;
  }
  return { closedThrough, windows: windows as OpenMinuteWindow[] };
}
