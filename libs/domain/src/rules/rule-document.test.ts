import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRule, parseRuleDocument } from './rule-document.js';

const threshold = {
  id: 'hot',
  kind: 'threshold',
  scope: { deviceType: 'Thermostat' },
  reading: 'Temperature',
  condition: { operator: '>', value: 70 },
  severity: 'major',
};

describe('parseRuleDocument', () => {
  it('accepts a document with a rule of every kind', () => {
    const result = parseRuleDocument({
      version: 1,
      rules: [
        threshold,
        { ...threshold, id: 'w', kind: 'window', aggregate: 'avg', window: { type: 'hopping', sizeMs: 60_000, hopMs: 10_000 } },
        { id: 'a', kind: 'absence', scope: { deviceId: 'thermostat-1' }, forMs: 300_000, severity: 'critical' },
      ],
      eventTime: { lateArrivalToleranceMs: 5000, outOfOrderToleranceMs: 0, action: 'adjust' },
    });
    expect(result.ok).toBe(true);
  });

  it('names the path and the problem of every wrong field', () => {
    const result = parseRuleDocument({
      version: 1,
      rules: [
        { ...threshold, severity: 'urgent', condition: { operator: '>' } },
        { ...threshold, id: 'w', kind: 'window', aggregate: 'median', window: { type: 'tumbling', sizeMs: -1 } },
      ],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((i) => i.path)).toEqual(
      expect.arrayContaining(['rules.0.severity', 'rules.0.condition', 'rules.1.aggregate', 'rules.1.window.sizeMs']),
    );
    expect(result.error.find((i) => i.path === 'rules.0.condition')?.message).toBe('expected a "value" or a "reference"');
  });

  it('refuses what only the whole document shows: duplicate ids, references without a value, contradictory policies', () => {
    const result = parseRuleDocument({
      version: 1,
      rules: [
        threshold,
        { ...threshold, condition: { operator: '>', reference: 'Max' }, suppression: { singleOpenAlert: true }, clear: { when: 'never' } },
        { ...threshold, id: 'h', kind: 'window', aggregate: 'max', window: { type: 'hopping', sizeMs: 10, hopMs: 20 } },
      ],
    });
    expect(result).toEqual({
      ok: false,
      error: [
        { path: 'rules.1.id', message: 'rule id "hot" appears more than once' },
        { path: 'rules.1.suppression.singleOpenAlert', message: 'an alert that never clears would suppress every later one: give the rule a clear' },
        {
          path: 'rules.1.condition.reference',
          message: 'the reference data has no "Max" for device type "Thermostat", and the condition has no fallback "value"',
        },
        { path: 'rules.2.window.hopMs', message: 'expected a hop no longer than the window size' },
      ],
    });
  });

  it('reads one rule alone, with paths relative to the rule', () => {
    expect(parseRule(threshold).ok).toBe(true);
    const bad = parseRule({ ...threshold, reading: '' });
    expect(bad.ok === false && bad.error).toEqual([{ path: 'reading', message: 'expected a non-empty string' }]);
  });

  it('never throws on arbitrary JSON: it returns errors', () => {
    const nearlyRules = fc.record({
      version: fc.constantFrom(1, 2, '1'),
      rules: fc.array(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ ...Object.fromEntries(Object.entries(threshold).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.jsonValue())])) }),
        ),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearlyRules), (json) => {
        const result = parseRuleDocument(json);
        if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
