import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '../../telemetry/telemetry-event.js';
import { loadRuleSet } from '../rule-set.js';
import type { RuleDocument } from '../rule-definition.js';
import type { RuleOutcome } from './rule-outcome.js';
import { RulesEngine } from './rules-engine.js';
import { emptyRulesEngineState, restoreRulesEngineState, snapshotRulesEngineState, type RulesEngineState } from './rules-engine-state.js';

const scope = { deviceType: 'Thermostat' };
/** One rule of every kind, with every suppression and clear policy somewhere. */
const everyKind: RuleDocument = {
  version: 1,
  referenceData: { deviceTypes: { Thermostat: { TemperatureMax: 70 } }, devices: { 'thermostat-1': { TemperatureMax: 75 } } },
  rules: [
    {
      id: 'hot',
      kind: 'threshold',
      scope,
      reading: 'Temperature',
      condition: { operator: '>', reference: 'TemperatureMax' },
      severity: 'major',
      suppression: { identicalReadingWithinMs: 60_000 },
      clear: { when: 'condition', condition: { operator: '<', value: 65 } },
    },
    {
      id: 'hot-for-a-while',
      kind: 'duration',
      scope,
      reading: 'Temperature',
      condition: { operator: '>=', value: 72 },
      forMs: 30_000,
      severity: 'critical',
      suppression: { singleOpenAlert: true },
    },
    {
      id: 'dry-three-times',
      kind: 'repeating',
      scope,
      reading: 'Humidity',
      condition: { operator: '<', value: 30 },
      count: 3,
      severity: 'minor',
      suppression: { cooldownMs: 20_000 },
    },
    {
      id: 'avg-minute',
      kind: 'window',
      scope,
      reading: 'Temperature',
      aggregate: 'avg',
      window: { type: 'tumbling', sizeMs: 60_000 },
      condition: { operator: '>', value: 68 },
      severity: 'warning',
    },
    {
      id: 'max-hopping',
      kind: 'window',
      scope,
      reading: 'Temperature',
      aggregate: 'max',
      window: { type: 'hopping', sizeMs: 30_000, hopMs: 10_000 },
      condition: { operator: '>', value: 80 },
      severity: 'info',
      clear: { when: 'quiet', forMs: 45_000 },
    },
    {
      id: 'count-sliding',
      kind: 'window',
      scope,
      reading: 'Humidity',
      aggregate: 'count',
      window: { type: 'sliding', sizeMs: 20_000 },
      condition: { operator: '>=', value: 4 },
      severity: 'info',
    },
    { id: 'jump', kind: 'rateOfChange', scope, reading: 'Temperature', change: 5, withinMs: 20_000, direction: 'either', severity: 'major' },
    { id: 'silent', kind: 'absence', scope, forMs: 40_000, severity: 'critical' },
    {
      id: 'spike',
      kind: 'anomaly',
      scope,
      reading: 'Temperature',
      direction: 'either',
      history: 8,
      minHistory: 4,
      deviations: 2,
      severity: 'warning',
      clear: { when: 'never' },
    },
  ],
};

type Op = { kind: 'reading'; device: number; time: number; temperature: number; humidity: number; token: string } | { kind: 'advance'; time: number };

const ops = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('reading' as const),
        device: fc.integer({ min: 0, max: 2 }),
        time: fc.integer({ min: 0, max: 300_000 }),
        temperature: fc.integer({ min: 55, max: 90 }),
        humidity: fc.integer({ min: 20, max: 40 }),
        token: fc.uuid(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), time: fc.integer({ min: 0, max: 400_000 }) }) },
  ),
  { maxLength: 80 },
);

const heldReading = (device: number, temperature: number): Op => ({
  kind: 'reading',
  device,
  time: 0,
  temperature,
  humidity: 20,
  token: '00000000-0000-1000-8000-000000000000',
});
const HELD_READINGS_OF_TWO_DEVICES: Op[] = [
  heldReading(0, 55),
  heldReading(0, 55),
  heldReading(0, 55),
  heldReading(1, 55),
  { kind: 'advance', time: 5_001 },
  heldReading(0, 55),
  heldReading(2, 71),
  heldReading(1, 61),
  { kind: 'advance', time: 5_002 },
];

function run(engine: RulesEngine, state: RulesEngineState, list: readonly Op[]): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  for (const op of list) {
    if (op.kind === 'advance') out.push(...engine.advanceTo(state, op.time));
    else {
      const event: TelemetryEvent = {
        deviceId: `thermostat-${op.device}`,
        eventToken: op.token,
        enqueuedTime: op.time,
        readings: { Temperature: op.temperature, Humidity: op.humidity },
      };
      out.push(...engine.evaluate(state, event, 'Thermostat'));
    }
  }
  return out;
}

describe('the rules engine', () => {
  for (const eventTime of [{}, { outOfOrderToleranceMs: 15_000 }, { action: 'drop' as const, outOfOrderToleranceMs: 5_000 }]) {
    it(`is deterministic, and serialising and restoring its state at any point mid-stream does not change the output (event time ${JSON.stringify(eventTime)})`, () => {
      const ruleSet = loadRuleSet(everyKind, eventTime);
      if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
      fc.assert(
        fc.property(ops, fc.nat(), (list, at) => {
          const whole = run(new RulesEngine(ruleSet.value), emptyRulesEngineState(ruleSet.value), list);
          expect(run(new RulesEngine(ruleSet.value), emptyRulesEngineState(ruleSet.value), list)).toEqual(whole);
          const split = list.length === 0 ? 0 : at % (list.length + 1);
          const first = new RulesEngine(ruleSet.value);
          const state = emptyRulesEngineState(ruleSet.value);
          const before = run(first, state, list.slice(0, split));
          const persisted = JSON.parse(JSON.stringify(snapshotRulesEngineState(ruleSet.value, state))) as unknown;
          const restored = restoreRulesEngineState(ruleSet.value, persisted);
          if (!restored.ok) throw new Error(JSON.stringify(restored.error));
          const after = run(new RulesEngine(ruleSet.value), restored.value, list.slice(split));
          expect([...before, ...after]).toEqual(whole);
        }),
        // Found by a CI run: readings of two devices held with the same time came out in another order once restored.
        { numRuns: 120, examples: [[HELD_READINGS_OF_TWO_DEVICES, 1_080_919_508]] },
      );
    });
  }

  it('absence fires exactly once per silence, stamped when the silence reached its length, whether a clock advance or the returning reading shows it, and re-arms when readings return', () => {
    const silence = 10_000;
    const ruleSet = loadRuleSet(
      { version: 1, rules: [{ id: 'silent', kind: 'absence', scope, forMs: silence, severity: 'critical' }] },
      { lateArrivalToleranceMs: 0 },
    );
    if (!ruleSet.ok) throw new Error('rules do not parse');
    // One device on one time line: readings and clock advances in time order.
    const timeline = fc.array(fc.record({ reading: fc.boolean(), gap: fc.integer({ min: 0, max: 25_000 }) }), { maxLength: 60 }).map((steps) => {
      let time = 0;
      return steps.map((s) => ({ reading: s.reading, time: (time += s.gap) }));
    });
    fc.assert(
      fc.property(timeline, (steps) => {
        const engine = new RulesEngine(ruleSet.value);
        const state = emptyRulesEngineState(ruleSet.value);
        const outcomes = steps.flatMap((s, i) =>
          s.reading
            ? engine.evaluate(state, { deviceId: 'd', eventToken: `r${i}`, enqueuedTime: s.time, readings: {} }, 'Thermostat')
            : engine.advanceTo(state, s.time),
        );
        // A silence after a reading is noticed when event time (a clock advance, or the next reading itself) passes its length.
        const expectedAlerts: number[] = [];
        let expectedClears = 0;
        steps.forEach((s, i) => {
          if (!s.reading) return;
          const rest = steps.slice(i + 1);
          const next = rest.findIndex((r) => r.reading);
          const until = next < 0 ? rest : rest.slice(0, next + 1);
          if (until.some((r) => r.time > s.time + silence)) {
            expectedAlerts.push(s.time + silence);
            if (next >= 0) expectedClears++;
          }
        });
        expect(outcomes.filter((o) => o.type === 'alert').map((o) => o.time)).toEqual(expectedAlerts);
        expect(outcomes.filter((o) => o.type === 'clear')).toHaveLength(expectedClears);
      }),
      { numRuns: 300 },
    );
  });
});
