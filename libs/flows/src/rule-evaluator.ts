import {
  CfsAlertQuery,
  emptyRulesEngineState,
  restoreRulesEngineState,
  RulesEngine,
  snapshotRulesEngineState,
  type CfsThresholdRule,
  type CompiledRuleSet,
  type RuleOutcome,
  type RulesEngineState,
  type TelemetryEvent,
  type ThresholdAlert,
} from '@fieldlink/domain';
import { parseSuppressionKey, SuppressionMemory, SuppressionView } from './suppression-memory.js';

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
  /**
   * How a batch changes the state at the cost of what it touches; without it, each batch works on
   * a `copy` and the journal holds the whole `toSnapshot` (both cost the size of the state).
   */
  readonly changes?: RuleStateChanges<S>;
}

/**
 * A batch's changes to rule state, kept apart from the committed state until the batch's effects
 * are stored; and what the committed state took in since it was last saved.
 */
export interface RuleStateChanges<S> {
  /** A view of `committed` the batch evaluates on; `committed` itself is left as it is. */
  begin(committed: S): S;
  /** Folds the view's changes into the committed state it was begun on, which keeps them as unsaved. */
  commit(view: S): void;
  /** What the committed state took in since it was last `saved`, as JSON data: a journal entry's rules. */
  unsaved(committed: S): unknown;
  /** What `unsaved` gave is stored: the next journal entry holds only what changed after it. */
  saved(committed: S, stored: unknown): void;
  /** Applies a journal entry's changes to a restored state; false when they are not this evaluator's. */
  replay(state: S, changes: unknown): boolean;
}

/** The CFS rule state of a partition (`SuppressionMemory`), or a batch's view of it (`SuppressionView`). */
export type CfsRuleState = SuppressionMemory | SuppressionView;

/**
 * CFS mode: exactly the CFS Stream Analytics alert query (threshold per device type, the same
 * reading of the same device suppressed within one minute), its memory in the compact layout of
 * `SuppressionMemory`. Stored as `{ lastAlertAt: [[key, time], ...] }` and journal entries of
 * `{ set, removed }`, the keys those of `cfsSuppressionKey`.
 */
export class CfsRuleEvaluator implements RuleEvaluator<CfsRuleState> {
  readonly name = 'cfs';
  private cached: { rules: readonly CfsThresholdRule[]; query: CfsAlertQuery } | undefined;

  initialState(): CfsRuleState {
    return new SuppressionMemory();
  }

  copy(state: CfsRuleState): CfsRuleState {
    return memoryOf(state.entries())!;
  }

  readonly changes: RuleStateChanges<CfsRuleState> = {
    begin: (committed) => new SuppressionView(committedOf(committed)),
    commit: (view) => {
      if (!(view instanceof SuppressionView)) throw new TypeError('CFS rule state changes are read from a view begun by `changes.begin`.');
      view.commit();
    },
    unsaved: (committed) => committedOf(committed).unsaved(),
    saved: (committed, stored) => committedOf(committed).saved(stored),
    replay: (state, changes) => {
      if (typeof changes !== 'object' || changes === null) return false;
      const { set, removed } = changes as { set?: unknown; removed?: unknown };
      if (!Array.isArray(set) || !Array.isArray(removed)) return false;
      const sets = set.map((e: unknown) => (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' ? { key: parseSuppressionKey(e[0]), at: e[1] } : undefined));
      const removals = removed.map((k: unknown) => (typeof k === 'string' ? parseSuppressionKey(k) : undefined));
      if (sets.some((e) => e?.key === undefined) || removals.some((k) => k === undefined)) return false;
      const memory = committedOf(state);
      for (const { key, at } of sets as Array<{ key: NonNullable<ReturnType<typeof parseSuppressionKey>>; at: number }>) memory.rememberOver(key.deviceId, key.readingType, key.reading, at);
      for (const key of removals) memory.forget(key!.deviceId, key!.readingType, key!.reading);
      memory.takenAsSaved();
      return true;
    },
  };

  evaluate(state: CfsRuleState, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): ThresholdAlert[] {
    return this.queryFor(rules).evaluateWith(state, event, deviceType);
  }

  /** Forgets what can no longer suppress, as `CfsAlertQuery.prune` does, visiting only the seconds that passed. */
  advance(state: CfsRuleState, now: number): ThresholdAlert[] {
    state.prune(now);
    return [];
  }

  toSnapshot(state: CfsRuleState): unknown {
    return { lastAlertAt: [...state.entries()] };
  }

  fromSnapshot(snapshot: unknown): CfsRuleState | undefined {
    if (typeof snapshot !== 'object' || snapshot === null) return undefined;
    const entries = (snapshot as { lastAlertAt?: unknown }).lastAlertAt;
    if (!Array.isArray(entries)) return undefined;
    if (!entries.every((entry: unknown) => Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number')) return undefined;
    return memoryOf(entries as Array<[string, number]>);
  }

  private queryFor(rules: readonly CfsThresholdRule[]): CfsAlertQuery {
    if (this.cached?.rules !== rules) this.cached = { rules, query: new CfsAlertQuery(rules) };
    return this.cached.query;
  }
}

function committedOf(state: CfsRuleState): SuppressionMemory {
  if (!(state instanceof SuppressionMemory)) throw new TypeError('CFS rule state: a view was given where the committed state is meant.');
  return state;
}

/** A memory holding these stored keys (undefined when one is not a key), counted as saved. */
function memoryOf(entries: Iterable<readonly [string, number]>): SuppressionMemory | undefined {
  const memory = new SuppressionMemory();
  for (const [stored, at] of entries) {
    const key = parseSuppressionKey(stored);
    if (key === undefined) return undefined;
    memory.rememberOver(key.deviceId, key.readingType, key.reading, at);
  }
  memory.takenAsSaved();
  return memory;
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
