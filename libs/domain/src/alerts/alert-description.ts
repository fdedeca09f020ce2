import { ALERT_DESCRIPTION_MAX } from './alert-values.js';

/**
 * The CFS Logic App's description of a threshold alert: "Temperature reading of 86 exceeded a
 * threshold of 70", cut to the 100 characters `msdyn_description` holds (with an ellipsis, so a
 * reader sees it was cut).
 */
export function describeThresholdAlert(readingType: string, reading: number, threshold: number): string {
  return truncateWithEllipsis(`${readingType} reading of ${reading} exceeded a threshold of ${threshold}`, ALERT_DESCRIPTION_MAX);
}

export function truncateWithEllipsis(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}
