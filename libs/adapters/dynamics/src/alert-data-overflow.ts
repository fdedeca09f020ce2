import { ALERT_DATA_MAX } from '@fieldlink/domain';
import { ALERT_DATA_NOTE_SUBJECT } from './cfs-tables.js';

/**
 * `msdyn_alertdata` holds 8,192 characters. Longer alert data is not cut silently: the column
 * keeps the start of it and ends with a marker that says how much was cut and where the whole
 * text is (a note on the alert), and the adapter reads the note back, so callers see it whole.
 */
const MARKER = (kept: number, total: number): string =>
  `…[alert data cut at ${kept} of ${total} characters; whole text in the note "${ALERT_DATA_NOTE_SUBJECT}"]`;
const MARKER_PATTERN = /…\[alert data cut at (\d+) of (\d+) characters; whole text in the note "[^"]*"\]$/;

export interface FittedAlertData {
  readonly column: string;
  /** The whole text, when it does not fit the column. */
  readonly overflow?: string;
}

export function fitAlertData(alertData: string, max = ALERT_DATA_MAX): FittedAlertData {
  if (alertData.length <= max) return { column: alertData };
  let kept = max - MARKER(max, alertData.length).length;
  // Do not split a surrogate pair.
  const last = alertData.charCodeAt(kept - 1);
  if (last >= 0xd800 && last <= 0xdbff) kept--;
  return { column: alertData.slice(0, kept) + MARKER(kept, alertData.length), overflow: alertData };
}

/** Whether the column's text was cut, and how long the whole text is. */
export function cutAlertData(column: string): { readonly total: number } | undefined {
  const match = MARKER_PATTERN.exec(column);
  return match === null ? undefined : { total: Number(match[2]) };
}
