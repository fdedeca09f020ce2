// Flows 3–6 (ingest): the rules (CFS threshold query or native engine) over a batch, with their state.
import {
  CFS_SUPPRESSION_MS,
  CfsAlertQuery,
  emptyRulesEngineState,
  restoreRulesEngineState,
  RulesEngine,
  snapshotRulesEngineState,
  ok,
  type CfsAlertQueryState,
  type CfsThresholdRule,
  type CompiledRuleSet,
  type RuleOutcome,
  type RulesEngineState,
  type TelemetryEvent,
  type Result,
  type ThresholdAlert,
  type ValidationIssue,
} from '@fieldlink/domain';
import { z } from 'zod';
import { LayeredMap } from './state/layered-map.js';
import { parseStored } from './state/stored-state.js';
import { TimeIndexedMap } from './state/time-indexed-map.js';

/** The CFS suppression memory as stored: `[key, time of the last alert]` pairs. */
const cfsRuleSnapshotSchema = z.object({ lastAlertAt: z.array(z.tuple([z.string(), z.number()])) });
/** What a journal entry holds of it: the pairs set, and the keys forgotten, since the last save. */
const cfsRuleChangesSchema = z.object({ set: z.array(z.tuple([z.string(), z.number()])), removed: z.array(z.string()) });

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
  /** The state a stored snapshot holds; the issues (paths in the snapshot) when it is not one of this evaluator's. */
  fromSnapshot(snapshot: unknown): Result<S, ValidationIssue[]>;
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
  replay(state: S, changes: unknown): Result<void, ValidationIssue[]>;
}

/**
 * CFS mode: exactly the CFS Stream Analytics alert query (threshold per device type, the same
 * reading of the same device suppressed within one minute).
 */
export class CfsRuleEvaluator implements RuleEvaluator<CfsAlertQueryState> {
  readonly name = 'cfs';
  private cached: { rules: readonly CfsThresholdRule[]; query: CfsAlertQuery } | undefined;

  initialState(): CfsAlertQueryState {
    return { lastAlertAt: new TimeIndexedMap() };
  }

  copy(state: CfsAlertQueryState): CfsAlertQueryState {
    const lastAlertAt = new TimeIndexedMap<string>();
    for (const [key, at] of state.lastAlertAt) lastAlertAt.set(key, at);
    return { lastAlertAt };
  }

  /** Per committed map, the keys set (with their time) or removed (null) since it was last saved. */
  private readonly unsavedOf = new WeakMap<Map<string, number>, Map<string, number | null>>();

  readonly changes: RuleStateChanges<CfsAlertQueryState> = {
    begin: (committed) => ({ lastAlertAt: new LayeredMap(committed.lastAlertAt) }),
    commit: (view) => {
      const layers = layersOf(view);
      let unsaved = this.unsavedOf.get(layers.committed);
      if (unsaved === undefined) this.unsavedOf.set(layers.committed, (unsaved = new Map()));
      for (const change of layers.changes()) unsaved.set(change.key, change.removed ? null : change.value);
      layers.commit();
    },
    unsaved: (committed) => {
      const set: Array<[string, number]> = [];
      const removed: string[] = [];
      for (const [key, at] of this.unsavedOf.get(committed.lastAlertAt) ?? []) {
        if (at === null) removed.push(key);
        else set.push([key, at]);
      }
      return { set, removed };
    },
    saved: (committed, stored) => {
      const unsaved = this.unsavedOf.get(committed.lastAlertAt);
      if (unsaved === undefined) return;
      const { set, removed } = stored as { set: Array<[string, number]>; removed: string[] };
      // A key changed again since `unsaved` was taken stays unsaved.
      for (const [key, at] of set) if (unsaved.get(key) === at) unsaved.delete(key);
      for (const key of removed) if (unsaved.get(key) === null) unsaved.delete(key);
    },
    replay: (state, changes) => {
      const read = parseStored(cfsRuleChangesSchema, changes);
      if (!read.ok) return read;
      for (const [key, at] of read.value.set) state.lastAlertAt.set(key, at);
      for (const key of read.value.removed) state.lastAlertAt.delete(key);
      return ok(undefined);
    },
  };

  evaluate(state: CfsAlertQueryState, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): ThresholdAlert[] {
    return this.queryFor(rules).evaluate(state, event, deviceType);
  }

  /**
   * Forgets what can no longer suppress, as `CfsAlertQuery.prune` does, visiting only the keys
   * whose time may have passed (the seconds the time index of the committed map files them under,
   * and the keys each view over it set) rather than every key.
   */
  advance(state: CfsAlertQueryState, now: number): ThresholdAlert[] {
    const map = state.lastAlertAt;
    const layers: Array<LayeredMap<string, number>> = [];
    let base: Map<string, number> = map;
    while (base instanceof LayeredMap) {
      layers.push(base as LayeredMap<string, number>);
      base = (base as LayeredMap<string, number>).committed;
    }
    if (!(base instanceof TimeIndexedMap)) {
      new CfsAlertQuery([]).prune(state, now);
      return [];
    }
    const candidates = [...(base as TimeIndexedMap<string>).keysUpTo(now - CFS_SUPPRESSION_MS)];
    for (const layer of layers) for (const change of layer.changes()) if (!change.removed) candidates.push(change.key);
    for (const key of candidates) {
      const at = map.get(key);
      if (at !== undefined && now - at >= CFS_SUPPRESSION_MS) map.delete(key);
    }
    return [];
  }

  toSnapshot(state: CfsAlertQueryState): unknown {
    return { lastAlertAt: [...state.lastAlertAt] };
  }

  fromSnapshot(snapshot: unknown): Result<CfsAlertQueryState, ValidationIssue[]> {
    const read = parseStored(cfsRuleSnapshotSchema, snapshot);
    if (!read.ok) return read;
    const lastAlertAt = new TimeIndexedMap<string>();
    for (const [key, at] of read.value.lastAlertAt) lastAlertAt.set(key, at);
    return ok({ lastAlertAt });
  }

  private queryFor(rules: readonly CfsThresholdRule[]): CfsAlertQuery {
    if (this.cached?.rules !== rules) this.cached = { rules, query: new CfsAlertQuery(rules) };
    return this.cached.query;
  }
}

function layersOf(view: CfsAlertQueryState): LayeredMap<string, number> {
  if (!(view.lastAlertAt instanceof LayeredMap)) throw new TypeError('CFS rule state changes are read from a view begun by `changes.begin`.');
  return view.lastAlertAt as LayeredMap<string, number>;
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

  fromSnapshot(snapshot: unknown): Result<RulesEngineState, ValidationIssue[]> {
    return restoreRulesEngineState(this.ruleSet, snapshot);
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
