import { err, ok, type Result } from '../../shared/result.js';
import { issue, type ValidationIssue } from '../../shared/validation-issue.js';
import type { TelemetryEvent } from '../../telemetry/telemetry-event.js';
import type { CompiledRule, CompiledRuleSet } from './compiled-rule.js';
import { NEVER } from './never.js';

/** A reading held back by the out-of-order tolerance, with the event time the policy gave it. */
export interface HeldReading {
  readonly time: number;
  readonly deviceType: string;
  readonly event: TelemetryEvent;
}

/**
 * Everything the engine remembers, for one rule set. Devices get a slot on their first reading;
 * each rule keeps a small number array per device (undefined until the rule has something to
 * remember). Passed explicitly and changed in place by the engine, for speed: take a snapshot
 * (`snapshotRulesEngineState`) to copy or persist it.
 */
export interface RulesEngineState {
  /** The engine's clock: the furthest `advanceTo`. */
  clock: number;
  readonly slotOf: Map<string, number>;
  readonly deviceTypes: string[];
  /** Latest event time per device, after the event-time policy. */
  readonly lastTime: number[];
  /** Rule states, by rule index then device slot. */
  readonly ruleStates: Array<Array<number[] | undefined>>;
  /** The rules of each slot (derived from the rule set; not persisted). */
  readonly rulesOfSlot: Array<readonly CompiledRule[]>;
  /** Readings held for ordering, per slot (only when the out-of-order tolerance is above zero). */
  readonly held: Map<number, HeldReading[]>;
}

export function emptyRulesEngineState(ruleSet: CompiledRuleSet): RulesEngineState {
  return { clock: NEVER, slotOf: new Map(), deviceTypes: [], lastTime: [], ruleStates: ruleSet.rules.map(() => []), rulesOfSlot: [], held: new Map() };
}

export function addDeviceSlot(state: RulesEngineState, ruleSet: CompiledRuleSet, deviceId: string, deviceType: string): number {
  const slot = state.deviceTypes.length;
  state.slotOf.set(deviceId, slot);
  state.deviceTypes.push(deviceType);
  state.lastTime.push(NEVER);
  state.rulesOfSlot.push(ruleSet.rulesFor(deviceId, deviceType));
  for (const states of state.ruleStates) states.push(undefined);
  return slot;
}

/** The persisted form: plain JSON, keyed by device id and rule id so it survives a reordered rule set. */
export interface RulesEngineSnapshot {
  readonly version: 1;
  readonly clock: number | null;
  readonly devices: ReadonlyArray<{
    readonly id: string;
    readonly type: string;
    readonly time: number | null;
    readonly rules: Readonly<Record<string, readonly number[]>>;
    readonly held?: readonly HeldReading[];
  }>;
}

const timeOrNull = (t: number): number | null => (t === NEVER ? null : t);

export function snapshotRulesEngineState(ruleSet: CompiledRuleSet, state: RulesEngineState): RulesEngineSnapshot {
  const devices: Array<RulesEngineSnapshot['devices'][number]> = [];
  for (const [id, slot] of state.slotOf) {
    const rules: Record<string, number[]> = {};
    for (const rule of ruleSet.rules) {
      const s = state.ruleStates[rule.index]![slot];
      if (s !== undefined) rules[rule.id] = s.slice();
    }
    const held = state.held.get(slot);
    devices.push({
      id,
      type: state.deviceTypes[slot]!,
      time: timeOrNull(state.lastTime[slot]!),
      rules,
      ...(held && held.length > 0 ? { held: held.map((h) => ({ ...h })) } : {}),
    });
  }
  return { version: 1, clock: timeOrNull(state.clock), devices };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));

/**
 * Rebuilds state from a snapshot for this rule set. State of a rule the set no longer has is left
 * behind (that rule is gone); a rule the snapshot does not know starts fresh. Never throws.
 */
export function restoreRulesEngineState(ruleSet: CompiledRuleSet, snapshot: unknown): Result<RulesEngineState, ValidationIssue[]> {
  if (!isRecord(snapshot) || snapshot['version'] !== 1) return err([issue(['version'], 'expected a rules engine snapshot of version 1')]);
  const issues: ValidationIssue[] = [];
  if (!isTime(snapshot['clock'])) issues.push(issue(['clock'], 'expected a finite number or null'));
  const devices = snapshot['devices'];
  if (!Array.isArray(devices)) return err([...issues, issue(['devices'], 'expected an array')]);
  const state = emptyRulesEngineState(ruleSet);
  state.clock = typeof snapshot['clock'] === 'number' ? snapshot['clock'] : NEVER;
  devices.forEach((device: unknown, index) => {
    if (!isRecord(device) || typeof device['id'] !== 'string' || typeof device['type'] !== 'string') {
      issues.push(issue(['devices', index], 'expected {id, type, time, rules}'));
      return;
    }
    if (state.slotOf.has(device['id'])) {
      issues.push(issue(['devices', index, 'id'], `device "${device['id']}" appears more than once`));
      return;
    }
    if (!isTime(device['time'])) issues.push(issue(['devices', index, 'time'], 'expected a finite number or null'));
    const slot = addDeviceSlot(state, ruleSet, device['id'], device['type']);
    state.lastTime[slot] = typeof device['time'] === 'number' ? device['time'] : NEVER;
    const rules = device['rules'];
    if (!isRecord(rules)) {
      issues.push(issue(['devices', index, 'rules'], 'expected an object of rule states by rule id'));
      return;
    }
    for (const [ruleId, s] of Object.entries(rules)) {
      const rule = ruleSet.byId.get(ruleId);
      if (rule === undefined) continue;
      if (!Array.isArray(s) || s.length < rule.fixedSize || !s.every((n) => typeof n === 'number' && Number.isFinite(n))) {
        issues.push(issue(['devices', index, 'rules', ruleId], `expected at least ${rule.fixedSize} finite numbers`));
        continue;
      }
      state.ruleStates[rule.index]![slot] = (s as number[]).slice();
    }
    const held = device['held'];
    if (held !== undefined) {
      if (
        !Array.isArray(held) ||
        !held.every((h) => isRecord(h) && typeof h['time'] === 'number' && typeof h['deviceType'] === 'string' && isRecord(h['event']))
      ) {
        issues.push(issue(['devices', index, 'held'], 'expected held readings {time, deviceType, event}'));
      } else {
        state.held.set(
          slot,
          (held as HeldReading[]).map((h) => ({ ...h })),
        );
      }
    }
  });
  return issues.length > 0 ? err(issues) : ok(state);
}
