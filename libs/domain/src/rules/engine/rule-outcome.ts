import type { Severity, RuleKind } from '../rule-definition.js';

/** A rule raised an alert for a device. `reading` is what was judged: the reading, or the window's aggregate. */
export interface RuleAlert {
  readonly type: 'alert';
  readonly ruleId: string;
  readonly ruleKind: RuleKind;
  readonly severity: Severity;
  readonly deviceId: string;
  readonly deviceType: string;
  /** The reading type watched; empty for an absence rule that counts any message. */
  readonly readingType: string;
  readonly reading: number;
  /** The bound that was crossed (threshold, change, silence, anomaly bound); null when none applies. */
  readonly threshold: number | null;
  /** The rule's output name (the CFS `ruleoutput`). */
  readonly ruleOutput: string;
  /**
   * The event token of the reading that raised it; for an alert raised by time (a window end, a
   * silence) a token made of rule, device and time, so a replay raises the same token again.
   */
  readonly eventToken: string;
  /** Event time in epoch milliseconds: the reading's, the window end, or when the silence reached its length. */
  readonly time: number;
}

/** An open alert of a rule ended for a device (its clear condition). */
export interface RuleClear {
  readonly type: 'clear';
  readonly ruleId: string;
  readonly deviceId: string;
  readonly time: number;
  readonly eventToken: string;
}

/** A reading the event-time policy refused (action `drop`); the caller keeps it with this reason. */
export interface ReadingDropped {
  readonly type: 'dropped';
  readonly deviceId: string;
  readonly eventToken: string;
  readonly reason: 'late' | 'outOfOrder';
  readonly eventTime: number;
  /** The earliest time the policy would have accepted. */
  readonly acceptedFrom: number;
}

export type RuleOutcome = RuleAlert | RuleClear | ReadingDropped;

/** The token of an outcome that time, not a reading, caused. Deterministic, so replays are idempotent. */
export const timeToken = (ruleId: string, deviceId: string, time: number): string => `${ruleId}:${deviceId}:${time}`;
