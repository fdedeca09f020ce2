import type {
  ComparisonOperator,
  Condition,
  ReferenceData,
  RuleDefinition,
  RuleDocument,
  Severity,
  WindowSpec,
  AggregateFunction,
} from '../rule-definition.js';
import { eventTimePolicy, type EventTimePolicy } from '../event-time-policy.js';
import { NEVER } from './never.js';
import { windowStateSize } from './window-aggregate.js';

/** Kind codes: a number switch is the cheapest dispatch on the hot path. */
export const Kind = { threshold: 0, duration: 1, repeating: 2, window: 3, rateOfChange: 4, absence: 5, anomaly: 6 } as const;
export const ClearWhen = { conditionFalse: 0, condition: 1, quiet: 2, never: 3 } as const;

/** Every rule state starts with these three numbers. */
export const FLAGS = 0;
export const LAST_RAISE = 1;
export const LAST_MATCH = 2;
export const HEADER = 3;
export const OPEN = 1;

const OPERATORS: Record<ComparisonOperator, number> = { '>': 0, '>=': 1, '<': 2, '<=': 3, '==': 4, '!=': 5 };

/**
 * A condition with its threshold resolved as far as the rule allows: a literal threshold is a
 * constant; a reference is looked up per device first, then per device type, then the fallback.
 */
export class CompiledCondition {
  readonly op: number;
  /** The threshold when it does not depend on the device; NaN when it does. */
  readonly fixed: number;
  private readonly byDevice: ReadonlyMap<string, number> | undefined;
  private readonly byType: ReadonlyMap<string, number> | undefined;
  private readonly fallback: number;

  constructor(condition: Condition, referenceData: ReferenceData | undefined) {
    this.op = OPERATORS[condition.operator];
    this.fallback = condition.value ?? Number.NaN;
    const key = condition.reference;
    if (key === undefined) {
      this.fixed = this.fallback;
      return;
    }
    this.fixed = Number.NaN;
    this.byDevice = valuesFor(referenceData?.devices, key);
    this.byType = valuesFor(referenceData?.deviceTypes, key);
  }

  thresholdFor(deviceId: string, deviceType: string): number {
    if (this.byDevice === undefined) return this.fixed;
    return this.byDevice.get(deviceId) ?? this.byType?.get(deviceType) ?? this.fallback;
  }

  /** False when there is no threshold for this device: the rule does not apply to it. */
  test(value: number, threshold: number): boolean {
    if (threshold !== threshold) return false;
    switch (this.op) {
      case 0:
        return value > threshold;
      case 1:
        return value >= threshold;
      case 2:
        return value < threshold;
      case 3:
        return value <= threshold;
      case 4:
        return value === threshold;
      default:
        return value !== threshold;
    }
  }
}

function valuesFor(table: Record<string, Record<string, number>> | undefined, key: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const [owner, entries] of Object.entries(table ?? {})) {
    const value = entries[key];
    if (value !== undefined) values.set(owner, value);
  }
  return values;
}

/** One rule, flattened into one object shape for every kind so the engine's loop stays monomorphic. */
export class CompiledRule {
  readonly kind: number;
  readonly kindName: RuleDefinition['kind'];
  readonly id: string;
  readonly severity: Severity;
  readonly output: string;
  readonly description: string | undefined;
  /** The reading watched; undefined only for an absence rule that counts any message. */
  readonly reading: string | undefined;
  readonly condition: CompiledCondition | undefined;
  readonly clearWhen: number;
  readonly clearCondition: CompiledCondition | undefined;
  readonly quietMs: number;
  readonly identicalMs: number;
  readonly singleOpen: boolean;
  readonly cooldownMs: number;
  readonly forMs: number;
  readonly count: number;
  readonly window: WindowSpec | undefined;
  readonly aggregate: AggregateFunction;
  readonly change: number;
  readonly direction: string;
  readonly history: number;
  readonly minHistory: number;
  readonly deviations: number;
  /** Numbers of state before any variable part (identical-reading pairs, reading buffers). */
  readonly fixedSize: number;
  /** Whether advancing the clock alone can make this rule speak. */
  readonly timeDriven: boolean;

  constructor(
    readonly index: number,
    readonly definition: RuleDefinition,
    referenceData: ReferenceData | undefined,
  ) {
    const rule = definition;
    this.kind = Kind[rule.kind];
    this.kindName = rule.kind;
    this.id = rule.id;
    this.severity = rule.severity;
    this.output = rule.output ?? rule.id;
    this.description = rule.description;
    this.reading = rule.reading;
    this.condition = 'condition' in rule ? new CompiledCondition(rule.condition, referenceData) : undefined;
    const clear = rule.clear ?? { when: 'conditionFalse' as const };
    this.clearWhen = ClearWhen[clear.when];
    this.clearCondition = clear.when === 'condition' ? new CompiledCondition(clear.condition, referenceData) : undefined;
    this.quietMs = clear.when === 'quiet' ? clear.forMs : 0;
    this.identicalMs = rule.suppression?.identicalReadingWithinMs ?? 0;
    this.singleOpen = rule.suppression?.singleOpenAlert ?? false;
    this.cooldownMs = rule.suppression?.cooldownMs ?? 0;
    this.forMs = rule.kind === 'duration' || rule.kind === 'absence' ? rule.forMs : rule.kind === 'rateOfChange' ? rule.withinMs : 0;
    this.count = rule.kind === 'repeating' ? rule.count : 0;
    this.window = rule.kind === 'window' ? rule.window : undefined;
    this.aggregate = rule.kind === 'window' ? rule.aggregate : 'avg';
    this.change = rule.kind === 'rateOfChange' ? rule.change : 0;
    this.direction = rule.kind === 'rateOfChange' || rule.kind === 'anomaly' ? rule.direction : '';
    this.history = rule.kind === 'anomaly' ? rule.history : 0;
    this.minHistory = rule.kind === 'anomaly' ? (rule.minHistory ?? rule.history) : 0;
    this.deviations = rule.kind === 'anomaly' ? rule.deviations : 0;
    this.fixedSize = HEADER + kindStateSize(rule);
    this.timeDriven = rule.kind === 'absence' || rule.kind === 'window' || clear.when === 'quiet';
  }

  /** A fresh state: the header, the kind's fixed part, and one spare identical-reading pair. */
  newState(): number[] {
    const s = [0, NEVER, NEVER];
    switch (this.kind) {
      case Kind.duration:
        s.push(NEVER);
        break;
      case Kind.repeating:
        s.push(0);
        break;
      case Kind.window:
        for (let i = 0; i < windowStateSize(this.window!); i += 5) s.push(NEVER, 0, 0, 0, 0);
        break;
      case Kind.absence:
        s.push(NEVER, 1);
        break;
      case Kind.anomaly:
        s.push(0, 0);
        for (let i = 0; i < this.history; i++) s.push(0);
        break;
    }
    // An expired placeholder, so the first identical-reading entry needs no growth of the array.
    if (this.identicalMs > 0) s.push(NEVER, NEVER);
    // A copy has exactly the capacity it needs: growth by push leaves slack, and state is per device.
    return s.slice();
  }
}

function kindStateSize(rule: RuleDefinition): number {
  switch (rule.kind) {
    case 'threshold':
    case 'rateOfChange':
      return 0;
    case 'duration':
    case 'repeating':
      return 1;
    case 'window':
      return windowStateSize(rule.window);
    case 'absence':
      return 2;
    case 'anomaly':
      return 2 + rule.history;
  }
}

const NO_RULES: readonly CompiledRule[] = Object.freeze([]);

/** A validated rule document made ready for the engine. Immutable; state lives apart from it. */
export class CompiledRuleSet {
  readonly rules: readonly CompiledRule[];
  readonly eventTime: EventTimePolicy;
  readonly byId: ReadonlyMap<string, CompiledRule>;
  readonly hasTimeDriven: boolean;
  private readonly byType = new Map<string, CompiledRule[]>();
  private readonly byDevice = new Map<string, CompiledRule[]>();
  private readonly merged = new Map<string, readonly CompiledRule[]>();

  constructor(
    readonly document: RuleDocument,
    eventTimeOverrides: Partial<EventTimePolicy> = {},
  ) {
    this.rules = document.rules.map((rule, index) => new CompiledRule(index, rule, document.referenceData));
    this.eventTime = eventTimePolicy({ ...document.eventTime, ...eventTimeOverrides });
    this.byId = new Map(this.rules.map((r) => [r.id, r]));
    this.hasTimeDriven = this.rules.some((r) => r.timeDriven);
    for (const rule of this.rules) {
      const scope = rule.definition.scope;
      const [table, key] = 'deviceType' in scope ? [this.byType, scope.deviceType] : [this.byDevice, scope.deviceId];
      const list = table.get(key) ?? [];
      list.push(rule);
      table.set(key, list);
    }
  }

  /** The rules that watch this device: those of its type, then those of the device itself. */
  rulesFor(deviceId: string, deviceType: string): readonly CompiledRule[] {
    const own = this.byDevice.get(deviceId);
    const ofType = this.byType.get(deviceType) ?? NO_RULES;
    if (own === undefined) return ofType;
    const key = `${deviceId}\u0000${deviceType}`;
    let list = this.merged.get(key);
    if (list === undefined) {
      list = [...ofType, ...own];
      this.merged.set(key, list);
    }
    return list;
  }
}
