import { parseRule, parseRuleDocument } from './rule-document.js';
import { loadRuleSet } from './rule-set.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { awkward, expectTypedAnswer, nearValid } from '../testing/hostile-input.js';

const rules: Array<Record<string, unknown>> = [
  {
    id: 'too-hot',
    kind: 'threshold',
    scope: { deviceType: 'Thermostat' },
    reading: 'Temperature',
    condition: { operator: '>', value: 70 },
    severity: 'major',
    output: 'AlarmTemp',
    suppression: { singleOpenAlert: true },
    clear: { when: 'condition', condition: { operator: '<=', value: 68 } },
  },
  {
    id: 'hot-minute',
    kind: 'window',
    scope: { deviceType: 'Thermostat' },
    reading: 'Temperature',
    aggregate: 'avg',
    window: { type: 'hopping', sizeMs: 60000, hopMs: 10000 },
    condition: { operator: '>', value: 74 },
    severity: 'critical',
    output: 'AlarmTempAvg',
  },
  {
    id: 'rising-fast',
    kind: 'rateOfChange',
    scope: { deviceType: 'Thermostat' },
    reading: 'Temperature',
    change: 2,
    withinMs: 60000,
    direction: 'rise',
    severity: 'warning',
    output: 'TempRising',
    suppression: { cooldownMs: 300000 },
  },
  { id: 'quiet', kind: 'absence', scope: { deviceType: 'Thermostat' }, reading: 'Temperature', forMs: 60000, severity: 'minor', output: 'Silent' },
];
const nearValidDocument = fc.record(
  { version: fc.oneof(fc.constant(1), awkward), rules: fc.oneof(fc.array(fc.oneof(...rules.map(nearValid), awkward), { maxLength: 4 }), awkward) },
  { requiredKeys: [] },
);

describe('native rule document reader, fuzzed', () => {
  it('property: any JSON value, and documents of near-valid rules, give a rule set or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(awkward, nearValidDocument), (document) => {
        expectTypedAnswer(() => parseRuleDocument(document));
        expectTypedAnswer(() => loadRuleSet(document));
      }),
      { numRuns: 1_000 },
    );
  });
  it('property: any JSON value as a single rule gives a rule or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(awkward, ...rules.map(nearValid)), (rule) => expectTypedAnswer(() => parseRule(rule))),
      { numRuns: 500 },
    );
  });
});
