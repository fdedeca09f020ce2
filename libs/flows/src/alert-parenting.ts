import type { StoredIoTAlert } from '@fieldlink/ports';

/** CFS's default debounce window: an alert within 5 minutes of an earlier one of the same device is its child. */
export const DEFAULT_PARENTING_WINDOW_MS = 5 * 60_000;

export interface ParentingPolicy {
  readonly windowMs: number;
  /** Alert-data fields that must match as well as the device (e.g. `readingtype`, `ruleoutput`). */
  readonly matchFields: readonly string[];
}

export const DEFAULT_PARENTING_POLICY: ParentingPolicy = { windowMs: DEFAULT_PARENTING_WINDOW_MS, matchFields: [] };

export interface ParentingCandidate {
  readonly alertToken: string;
  readonly deviceId: string;
  readonly alertTime: number;
  readonly alertData: string;
}

const dataOf = (alertData: string): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(alertData);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/**
 * The parent a new alert gets (domain.md, "Parenting"): the newest earlier alert of the same
 * device (and configured fields) within the window; if that one has a parent, its parent, so a
 * chain of alerts collapses to one root. Undefined when the alert is a root itself.
 */
export function parentAlertIdFor(alert: ParentingCandidate, earlier: readonly StoredIoTAlert[], policy: ParentingPolicy = DEFAULT_PARENTING_POLICY): string | undefined {
  const fields = policy.matchFields.length > 0 ? dataOf(alert.alertData) : {};
  let match: StoredIoTAlert | undefined;
  for (const candidate of earlier) {
    if (candidate.alertToken === alert.alertToken || candidate.deviceId !== alert.deviceId) continue;
    if (candidate.alertTime > alert.alertTime || alert.alertTime - candidate.alertTime > policy.windowMs) continue;
    if (policy.matchFields.length > 0) {
      const data = dataOf(candidate.alertData);
      if (policy.matchFields.some((f) => data[f] !== fields[f])) continue;
    }
    if (match === undefined || candidate.alertTime > match.alertTime) match = candidate;
  }
  return match === undefined ? undefined : (match.parentAlertId ?? match.alertId);
}
