// Flows 3–6 (ingest): the rules (CFS threshold query or native engine) over a batch, with their state.
import {
  CfsAlertQuery,
  emptyRulesEngineState,
  restoreRulesEngineState,
  RulesEngine,
  snapshotRulesEngineState,
  err,
  ok,
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
import { parseStored } from './state/stored-state.js';
import { parseSuppressionKey, SuppressionMemory, SuppressionView } from './state/suppression-memory.js';

type SuppressionKey = NonNullable<ReturnType<typeof parseSuppressionKey>>;

/** The CFS suppression memory as stored: `[key, time of the last alert]` pairs. */
const cfsRuleSnapshotSchema = z.object({ lastAlertAt: z.array(z.tuple([z.string(), z.number()])) });
/** What a journal entry holds of it: the pairs set, and the keys forgotten, since the last save. */
const cfsRuleChangesSchema = z.object({ set: z.array(z.tuple([z.string(), z.number()])), removed: z.array(z.string()) });

const notAKey = (path: string, stored: string): ValidationIssue => ({ path, message: `not a CFS suppression key: ${JSON.stringify(stored)}` });

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
  evaluate(state: S, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): readonly ThresholdAlert[];
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
  /**
   * How a checkpoint stores a large state a part at a time (see `PartitionStateJournal`); without
   * it, a checkpoint holds `toSnapshot` whole in its key, made when the commit is cut.
   */
  readonly pieces?: RuleStatePieces<S>;
}

/**
 * A rule state as entries stored in pieces: a checkpoint of a million devices' suppression memory
 * made into its stored form at once held hundreds of megabytes while the commit was written
 * (docs/performance.md, "Fifteenth round").
 */
export interface RuleStatePieces<S> {
  /** The state's entries as they are now, copied in less room than their stored form; each piece is made when asked for. */
  take(state: S): RuleStatePieceSource;
  /** The snapshot (`toSnapshot`'s form) that the entries of every piece make, in the order the pieces were made. */
  join(entries: readonly unknown[]): unknown;
}

/** What `RuleStatePieces.take` copied, made into pieces one at a time. */
export interface RuleStatePieceSource {
  /** True once every entry is in a piece made. */
  readonly done: boolean;
  /** The next piece: up to `size` entries, each JSON data. */
  next(size: number): unknown[];
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
    const copied = memoryOf(state.entries(), 'lastAlertAt');
    if (!copied.ok) throw new Error('A CFS suppression memory held a key it cannot read back: a bug.');
    return copied.value;
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
      const read = parseStored(cfsRuleChangesSchema, changes);
      if (!read.ok) return read;
      const sets: Array<{ key: SuppressionKey; at: number }> = [];
      const issues: ValidationIssue[] = [];
      read.value.set.forEach(([stored, at], index) => {
        const key = parseSuppressionKey(stored);
        if (key === undefined) issues.push(notAKey(`set.${index}.0`, stored));
        else sets.push({ key, at });
      });
      const removals: SuppressionKey[] = [];
      read.value.removed.forEach((stored, index) => {
        const key = parseSuppressionKey(stored);
        if (key === undefined) issues.push(notAKey(`removed.${index}`, stored));
        else removals.push(key);
      });
      if (issues.length > 0) return err(issues);
      const memory = committedOf(state);
      for (const { key, at } of sets) memory.rememberOver(key.deviceId, key.readingType, key.reading, at);
      for (const key of removals) memory.forget(key.deviceId, key.readingType, key.reading);
      memory.takenAsSaved();
      return ok(undefined);
    },
  };

  evaluate(state: CfsRuleState, event: TelemetryEvent, deviceType: string, rules: readonly CfsThresholdRule[]): readonly ThresholdAlert[] {
    return this.queryFor(rules).evaluateWith(state, event, deviceType);
  }

  /**
   * Forgets what can no longer suppress, as `CfsAlertQuery.prune` does, visiting only the seconds
   * that passed; raises nothing (the CFS query raises nothing on time alone). It forgets by the
   * time of the readings read, never by `now` beyond them: the watermark follows the clock once
   * the intake says the partition has caught up, but an intake knows what the hub holds only as
   * of its last delivery, and a reading held back (a delayed delivery, a dropped link) may still
   * come from before `now`. The query must suppress it as it would have; a partition's readings
   * come in enqueued order, so none still to come is older than the newest read.
   */
  advance(state: CfsRuleState, now: number): ThresholdAlert[] {
    const newest = state.newestOver();
    if (newest !== undefined) state.prune(Math.min(now, newest));
    return [];
  }

  toSnapshot(state: CfsRuleState): unknown {
    return { lastAlertAt: [...state.entries()] };
  }

  /** A piece is a run of `toSnapshot`'s `lastAlertAt` pairs. */
  readonly pieces: RuleStatePieces<CfsRuleState> = {
    take: (state) => committedOf(state).entriesLater(),
    join: (entries) => ({ lastAlertAt: entries }),
  };

  fromSnapshot(snapshot: unknown): Result<CfsRuleState, ValidationIssue[]> {
    const read = parseStored(cfsRuleSnapshotSchema, snapshot);
    if (!read.ok) return read;
    return memoryOf(read.value.lastAlertAt, 'lastAlertAt');
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

/** A memory holding these stored keys, counted as saved; an issue per stored key that is not one. */
function memoryOf(entries: Iterable<readonly [string, number]>, path: string): Result<SuppressionMemory, ValidationIssue[]> {
  const memory = new SuppressionMemory();
  const issues: ValidationIssue[] = [];
  let index = 0;
  for (const [stored, at] of entries) {
    const key = parseSuppressionKey(stored);
    if (key === undefined) issues.push(notAKey(`${path}.${index}.0`, stored));
    else memory.rememberOver(key.deviceId, key.readingType, key.reading, at);
    index += 1;
  }
  if (issues.length > 0) return err(issues);
  memory.takenAsSaved();
  return ok(memory);
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
    alerts.push({
      deviceId: o.deviceId,
      readingType: o.readingType === '' ? 'Message' : o.readingType,
      reading: o.reading,
      eventToken: o.eventToken,
      threshold: o.threshold ?? 0,
      ruleOutput: o.ruleOutput,
      time: o.time,
    });
  }
  return alerts;
};
