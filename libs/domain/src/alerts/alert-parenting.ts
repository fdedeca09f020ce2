/** CFS default: alerts of the same device within five minutes are one incident. */
export const DEFAULT_PARENTING_WINDOW_MS = 5 * 60_000;

export interface ParentingPolicy {
  readonly windowMs: number;
  /** Fields that must also be equal for two alerts to match (besides the device), e.g. `readingtype`. */
  readonly fields: readonly string[];
}

export const DEFAULT_PARENTING_POLICY: ParentingPolicy = { windowMs: DEFAULT_PARENTING_WINDOW_MS, fields: [] };

export interface ParentableAlert {
  readonly id: string;
  readonly deviceId: string;
  /** Epoch milliseconds. */
  readonly alertTime: number;
  readonly parentId?: string | undefined;
  readonly fields?: Readonly<Record<string, string | number | null>> | undefined;
}

/**
 * The parent a new alert gets (debounce): the latest earlier alert of the same device (and the
 * configured fields) within the window makes it a child; if that match is itself a child, its
 * parent is passed on, so a chain collapses to one root and no alert is deeper than one level.
 * Undefined when nothing matches: the new alert is a root.
 */
export function parentFor(
  alert: Omit<ParentableAlert, 'id' | 'parentId'>,
  earlier: readonly ParentableAlert[],
  policy: ParentingPolicy = DEFAULT_PARENTING_POLICY,
): string | undefined {
  let match: ParentableAlert | undefined;
  for (const candidate of earlier) {
    if (candidate.deviceId !== alert.deviceId || Math.abs(alert.alertTime - candidate.alertTime) > policy.windowMs) continue;
    if (!policy.fields.every((f) => (candidate.fields?.[f] ?? null) === (alert.fields?.[f] ?? null))) continue;
    if (match === undefined || candidate.alertTime >= match.alertTime) match = candidate;
  }
  return match === undefined ? undefined : (match.parentId ?? match.id);
}
