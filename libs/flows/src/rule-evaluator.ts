import { CfsAlertQuery, type CfsAlertQueryState, type CfsThresholdRule, type TelemetryEvent, type ThresholdAlert } from '@fieldlink/domain';

/**
 * What telemetry ingest needs from a rules engine: a pure evaluation over a state it keeps per
 * telemetry partition, and a snapshot of that state that survives a restart. Alerts come out in
 * the shape of the CFS alerts queue. Another engine plugs in by implementing this.
 */
export interface RuleEvaluator<S> {
  readonly name: string;
  initialState(): S;
  /** A copy the next batch works on, so a failed batch leaves the committed state untouched. */
  copy(state: S): S;
  evaluate(state: S, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): ThresholdAlert[];
  /** Forgets what can no longer matter at event time `now`. */
  prune(state: S, now: number): void;
  toSnapshot(state: S): unknown;
  /** Undefined when the snapshot is not one of this evaluator's. */
  fromSnapshot(snapshot: unknown): S | undefined;
}

/**
 * CFS mode: exactly the CFS Stream Analytics alert query (threshold per device type, the same
 * reading of the same device suppressed within one minute).
 */
export class CfsRuleEvaluator implements RuleEvaluator<CfsAlertQueryState> {
  readonly name = 'cfs';
  private cached: { rules: readonly CfsThresholdRule[]; query: CfsAlertQuery } | undefined;

  initialState(): CfsAlertQueryState {
    return { lastAlertAt: new Map() };
  }

  copy(state: CfsAlertQueryState): CfsAlertQueryState {
    return { lastAlertAt: new Map(state.lastAlertAt) };
  }

  evaluate(state: CfsAlertQueryState, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): ThresholdAlert[] {
    return this.queryFor(rules).evaluate(state, event, deviceType);
  }

  prune(state: CfsAlertQueryState, now: number): void {
    (this.cached?.query ?? new CfsAlertQuery([])).prune(state, now);
  }

  toSnapshot(state: CfsAlertQueryState): unknown {
    return { lastAlertAt: [...state.lastAlertAt] };
  }

  fromSnapshot(snapshot: unknown): CfsAlertQueryState | undefined {
    if (typeof snapshot !== 'object' || snapshot === null) return undefined;
    const entries = (snapshot as { lastAlertAt?: unknown }).lastAlertAt;
    if (!Array.isArray(entries)) return undefined;
    const lastAlertAt = new Map<string, number>();
    for (const entry of entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') return undefined;
      lastAlertAt.set(entry[0], entry[1]);
    }
    return { lastAlertAt };
  }

  private queryFor(rules: readonly CfsThresholdRule[]): CfsAlertQuery {
    if (this.cached?.rules !== rules) this.cached = { rules, query: new CfsAlertQuery(rules) };
    return this.cached.query;
  }
}
