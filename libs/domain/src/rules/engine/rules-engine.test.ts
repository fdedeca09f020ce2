import { describe, expect, it } from 'vitest';
import type { RuleDefinition } from '../rule-definition.js';
import { loadRuleSet } from '../rule-set.js';
import type { EventTimePolicy } from '../event-time-policy.js';
import type { RuleOutcome } from './rule-outcome.js';
import { RulesEngine } from './rules-engine.js';
import { emptyRulesEngineState } from './rules-engine-state.js';

const scope = { deviceType: 'Thermostat' };

/** An engine over the given rules, fed with `(time, temperature)` readings of one thermostat. */
function harness(rules: RuleDefinition[], eventTime: Partial<EventTimePolicy> = {}, referenceData?: Record<string, unknown>) {
  const ruleSet = loadRuleSet({ version: 1, rules, ...(referenceData ? { referenceData } : {}) }, eventTime);
  if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
  const engine = new RulesEngine(ruleSet.value);
  const state = emptyRulesEngineState(ruleSet.value);
  let n = 0;
  return {
    read: (time: number, temperature: number, deviceId = 'thermostat-1'): readonly RuleOutcome[] =>
      engine.evaluate(state, { deviceId, eventToken: `e${n++}`, enqueuedTime: time, readings: { Temperature: temperature } }, 'Thermostat'),
    advance: (time: number): readonly RuleOutcome[] => engine.advanceTo(state, time),
  };
}
const kinds = (outcomes: readonly RuleOutcome[]) =>
  outcomes.map((o) => (o.type === 'alert' ? `alert@${o.time}:${o.reading}` : `${o.type}@${'time' in o ? o.time : o.eventTime}`));

describe('rule kinds', () => {
  it('threshold: raises once per episode with a single open alert, and clears when the condition stops holding', () => {
    const h = harness([
      {
        id: 'hot',
        kind: 'threshold',
        scope,
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        severity: 'major',
        suppression: { singleOpenAlert: true },
      },
    ]);
    expect(kinds(h.read(0, 71))).toEqual(['alert@0:71']);
    expect(kinds(h.read(1000, 75))).toEqual([]);
    expect(kinds(h.read(2000, 69))).toEqual(['clear@2000']);
    expect(kinds(h.read(3000, 72))).toEqual(['alert@3000:72']);
  });

  it('threshold: takes the per-device override of a reference threshold before the device type value', () => {
    const h = harness(
      [
        {
          id: 'hot',
          kind: 'threshold',
          scope,
          reading: 'Temperature',
          condition: { operator: '>', reference: 'Max' },
          severity: 'major',
          clear: { when: 'never' },
        },
      ],
      {},
      { deviceTypes: { Thermostat: { Max: 70 } }, devices: { 'thermostat-2': { Max: 80 } } },
    );
    expect(kinds(h.read(0, 75, 'thermostat-1'))).toEqual(['alert@0:75']);
    expect(kinds(h.read(0, 75, 'thermostat-2'))).toEqual([]);
    expect(kinds(h.read(1, 81, 'thermostat-2'))).toEqual(['alert@1:81']);
  });

  it('duration: raises only once the condition has held continuously for the duration', () => {
    const h = harness([
      {
        id: 'd',
        kind: 'duration',
        scope,
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        forMs: 10_000,
        severity: 'major',
        suppression: { singleOpenAlert: true },
      },
    ]);
    expect(kinds([...h.read(0, 71), ...h.read(5_000, 72), ...h.read(9_999, 71)])).toEqual([]);
    expect(kinds(h.read(10_000, 71))).toEqual(['alert@10000:71']);
    expect(kinds([...h.read(11_000, 60), ...h.read(12_000, 71), ...h.read(21_000, 71)])).toEqual(['clear@11000']);
  });

  it('repeating: raises on the Nth consecutive matching reading, and a non-matching reading starts the count again', () => {
    const h = harness([
      {
        id: 'r',
        kind: 'repeating',
        scope,
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        count: 3,
        severity: 'minor',
        clear: { when: 'never' },
        suppression: { cooldownMs: 60_000 },
      },
    ]);
    expect(kinds([...h.read(0, 71), ...h.read(1, 71), ...h.read(2, 60), ...h.read(3, 71), ...h.read(4, 71)])).toEqual([]);
    expect(kinds(h.read(5, 71))).toEqual(['alert@5:71']);
    expect(kinds(h.read(6, 71))).toEqual([]); // cooldown
  });

  it('tumbling average: emits once at the window end, stamped with the end, holding the event stamped exactly at the end', () => {
    const h = harness(
      [
        {
          id: 'avg',
          kind: 'window',
          scope,
          reading: 'Temperature',
          aggregate: 'avg',
          window: { type: 'tumbling', sizeMs: 60_000 },
          condition: { operator: '>', value: 70 },
          severity: 'warning',
          clear: { when: 'never' },
        },
      ],
      { lateArrivalToleranceMs: 0 },
    );
    // The reading at 0 belongs to (-60000, 0]; the reading at 1 shows that window is over.
    expect(kinds(h.read(0, 100))).toEqual([]);
    expect(kinds([...h.read(1, 60), ...h.read(60_000, 90)])).toEqual(['alert@0:100']);
    // (0, 60000] holds 60 and 90: avg 75.
    expect(kinds(h.read(60_001, 0))).toEqual(['alert@60000:75']);
    expect(kinds(h.advance(120_000))).toEqual([]);
    expect(kinds(h.advance(120_001))).toEqual([]); // avg 0 is not above 70
  });

  it('rate of change: raises when the reading moved more than the change within the time', () => {
    const h = harness([
      {
        id: 'jump',
        kind: 'rateOfChange',
        scope,
        reading: 'Temperature',
        change: 5,
        withinMs: 10_000,
        direction: 'rise',
        severity: 'major',
        clear: { when: 'never' },
      },
    ]);
    expect(kinds([...h.read(0, 60), ...h.read(5_000, 64), ...h.read(20_000, 70)])).toEqual([]);
    expect(kinds(h.read(25_000, 75.5))).toEqual(['alert@25000:75.5']);
  });

  it('absence: fires by time alone, once, and clears when the device speaks again', () => {
    const h = harness([{ id: 'silent', kind: 'absence', scope, forMs: 60_000, severity: 'critical' }], { lateArrivalToleranceMs: 5_000 });
    h.read(0, 20);
    expect(kinds(h.advance(65_000))).toEqual([]); // the watermark (60 s) has not passed the silence yet
    expect(kinds(h.advance(65_001))).toEqual(['alert@60000:60000']);
    expect(kinds(h.advance(200_000))).toEqual([]);
    expect(kinds(h.read(200_000, 20))).toEqual(['clear@200000']);
  });

  it('anomaly: a spike against the device own recent history raises, ordinary wobble does not', () => {
    const h = harness([
      {
        id: 'spike',
        kind: 'anomaly',
        scope,
        reading: 'Temperature',
        direction: 'spike',
        history: 5,
        deviations: 3,
        severity: 'warning',
        clear: { when: 'never' },
      },
    ]);
    const wobble = [20, 21, 20, 19, 20, 21, 20].flatMap((t, i) => h.read(i * 1000, t));
    expect(kinds(wobble)).toEqual([]);
    expect(kinds(h.read(10_000, 35))).toEqual(['alert@10000:35']);
  });

  it('quiet clear: an open alert clears when the condition has not recurred for the quiet time, even with no reading', () => {
    const h = harness(
      [
        {
          id: 'hot',
          kind: 'threshold',
          scope,
          reading: 'Temperature',
          condition: { operator: '>', value: 70 },
          severity: 'major',
          clear: { when: 'quiet', forMs: 30_000 },
          suppression: { singleOpenAlert: true },
        },
      ],
      { lateArrivalToleranceMs: 0 },
    );
    expect(kinds([...h.read(0, 71), ...h.read(10_000, 72), ...h.read(20_000, 50)])).toEqual(['alert@0:71']);
    expect(kinds(h.advance(40_001))).toEqual(['clear@40000']);
  });
});

describe('event-time policy', () => {
  it('adjusts a late reading to the watermark, or drops it with its reason', () => {
    const rules: RuleDefinition[] = [
      { id: 'hot', kind: 'threshold', scope, reading: 'Temperature', condition: { operator: '>', value: 70 }, severity: 'major', clear: { when: 'never' } },
    ];
    const adjust = harness(rules);
    adjust.advance(100_000);
    expect(kinds(adjust.read(10_000, 80))).toEqual(['alert@95000:80']);
    const drop = harness(rules, { action: 'drop' });
    drop.advance(100_000);
    expect(drop.read(10_000, 80)).toEqual([
      { type: 'dropped', deviceId: 'thermostat-1', eventToken: 'e0', reason: 'late', eventTime: 10_000, acceptedFrom: 95_000 },
    ]);
  });

  it('holds readings within the out-of-order tolerance and hands them to the rules in time order', () => {
    const h = harness(
      [
        {
          id: 'jump',
          kind: 'rateOfChange',
          scope,
          reading: 'Temperature',
          change: 5,
          withinMs: 10_000,
          direction: 'rise',
          severity: 'major',
          clear: { when: 'never' },
        },
      ],
      { outOfOrderToleranceMs: 3_000 },
    );
    expect(kinds([...h.read(2_000, 70), ...h.read(1_000, 60)])).toEqual([]);
    // At 5 s both are released in time order: 60 then 70, a rise of 10.
    expect(kinds(h.read(5_000, 70))).toEqual(['alert@2000:70']);
  });

  it('adjusts an out-of-order reading beyond the tolerance to the device latest time by default', () => {
    const h = harness([
      { id: 'hot', kind: 'threshold', scope, reading: 'Temperature', condition: { operator: '>', value: 70 }, severity: 'major', clear: { when: 'never' } },
    ]);
    h.read(50_000, 20);
    expect(kinds(h.read(10_000, 80))).toEqual(['alert@50000:80']);
  });
});
