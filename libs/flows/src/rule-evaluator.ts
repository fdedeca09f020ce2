import {
  CfsAlertQuery,
  emptyRulesEngineState,
  restoreRulesEngineState,
  RulesEngine,
  snapshotRulesEngineState,
  type CfsAlertQueryState,
  type CfsThresholdRule,
  type CompiledRuleSet,
  type RuleOutcome,
  type RulesEngineState,
  type TelemetryEvent,
  type ThresholdAlert,
} from '@fieldlink/domain';

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
  /**
   * Event time moved to `now`: what time alone raises (a window ending, a silence) comes out, and
   * what can no longer matter is forgotten.
   */
  advance(state: S, now: number): ThresholdAlert[];
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

  advance(state: CfsAlertQueryState, now: number): ThresholdAlert[] {
    (this.cached?.query ?? new CfsAlertQuery([])).prune(state, now);
    return [];
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

/**
 * The rules engine with a native rule document (threshold, duration, repeating, window, rate of
 * change, absence, anomaly). Its rules are its own, so the CFS reference data is not consulted;
 * alerts leave in the CFS alerts-queue shape, with `threshold` 0 for kinds that cross no bound.
 */
export class RulesEngineEvaluator implements RuleEvaluator<RulesEngineState> {
  readonly name = 'rules-engine';
  private readonly engine: RulesEngine;

  constructor(private readonly ruleSet: CompiledRuleSet) {
    this.engine = new RulesEngine(ruleSet);
  }

  initialState(): RulesEngineState {
    return emptyRulesEngineState(this.ruleSet);
  }

  copy(state: RulesEngineState): RulesEngineState {
    const restored = restoreRulesEngineState(this.ruleSet, snapshotRulesEngineState(this.ruleSet, state));
    if (!restored.ok) throw new Error('The rules engine could not restore its own snapshot');
    return restored.value;
  }

  evaluate(state: RulesEngineState, event: TelemetryEvent, deviceType: string): ThresholdAlert[] {
    return alertsOf(this.engine.evaluate(state, event, deviceType));
  }

  advance(state: RulesEngineState, now: number): ThresholdAlert[] {
    return alertsOf(this.engine.advanceTo(state, now));
  }

  toSnapshot(state: RulesEngineState): unknown {
    return snapshotRulesEngineState(this.ruleSet, state);
  }

  fromSnapshot(snapshot: unknown): RulesEngineState | undefined {
    const restored = restoreRulesEngineState(this.ruleSet, snapshot);
    return restored.ok ? restored.value : undefined;
  }
}

const alertsOf = (outcomes: readonly RuleOutcome[]): ThresholdAlert[] => {
  const alerts: ThresholdAlert[] = [];
  for (const o of outcomes) {
    if (o.type !== 'alert') continue;
    alerts.push({ deviceId: o.deviceId, readingType: o.readingType === '' ? 'Message' : o.readingType, reading: o.reading, eventToken: o.eventToken, threshold: o.threshold ?? 0, ruleOutput: o.ruleOutput, time: o.time });
  }
  return alerts;
};
