import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RulesEngine } from '../engine/rules-engine.js';
import { emptyRulesEngineState } from '../engine/rules-engine-state.js';
import { CfsAlertQuery, emptyCfsAlertQueryState } from './cfs-alert-query.js';
import { parseCfsDeviceRules, type CfsThresholdRule } from './cfs-device-rules.js';
import { compileCfsDeviceRules, toThresholdAlert } from './cfs-rule-set.js';
import type { ThresholdAlert } from './threshold-alert.js';

const document = JSON.parse(readFileSync(new URL('../../../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as unknown;
const withHumidity = [{ DeviceType: 'Thermostat', Temperature: 70, Humidity: 60, TemperatureRuleOutput: 'AlarmTemp', HumidityRuleOutput: 'AlarmHumidity' }];

interface Reading {
  deviceId: string;
  deviceType: string;
  eventToken: string;
  enqueuedTime: number;
  readings: Record<string, number>;
}

/**
 * The CFS Stream Analytics query written as plainly as possible: AlertData is every (event,
 * reading type) above its threshold; an element is output when LAG over its partition (device,
 * reading, reading type) within one minute is NULL, i.e. the previous element of the partition is
 * not less than a minute older.
 */
function naiveCfsQuery(rules: readonly CfsThresholdRule[], events: readonly Reading[]): ThresholdAlert[] {
  const alertData: ThresholdAlert[] = [];
  for (const e of events) {
    for (const rule of rules) {
      if (rule.deviceType !== e.deviceType) continue;
      const reading = e.readings[rule.readingType];
      if (reading !== undefined && reading > rule.threshold)
        alertData.push({
          deviceId: e.deviceId,
          readingType: rule.readingType,
          reading,
          eventToken: e.eventToken,
          threshold: rule.threshold,
          ruleOutput: rule.ruleOutput,
          time: e.enqueuedTime,
        });
    }
  }
  return alertData.filter((row, i) => {
    const previous = alertData
      .slice(0, i)
      .reverse()
      .find((p) => p.deviceId === row.deviceId && p.reading === row.reading && p.readingType === row.readingType);
    return previous === undefined || row.time - previous.time >= 60_000;
  });
}

/** Readings as the hub enqueues them: every device's enqueued times never go back. */
const readingSequence = fc
  .array(
    fc.record({
      device: fc.integer({ min: 0, max: 3 }),
      gap: fc.integer({ min: 0, max: 40_000 }),
      temperature: fc.oneof(fc.constantFrom(69, 70, 71, 86, 86.5), fc.double({ min: 50, max: 90, noNaN: true })),
      humidity: fc.constantFrom(40, 60, 61, 75),
      chiller: fc.boolean(),
    }),
    { maxLength: 120 },
  )
  .map((steps) => {
    let time = Date.parse('2026-11-28T09:00:00Z');
    return steps.map((s, i): Reading => {
      time += s.gap;
      return {
        deviceId: `thermostat-${s.device}`,
        deviceType: s.chiller && s.device === 3 ? 'Chiller' : 'Thermostat',
        eventToken: `token-${i}`,
        enqueuedTime: time,
        readings: { Temperature: s.temperature, Humidity: s.humidity },
      };
    });
  });

describe('the CFS mode of the rules engine', () => {
  for (const [name, doc] of [
    ['devicerules.json', document],
    ['devicerules with a humidity threshold', withHumidity],
  ] as const) {
    it(`threshold rules from ${name} give exactly the alerts of a naive reference implementation of the CFS query, over arbitrary reading sequences`, () => {
      const parsed = parseCfsDeviceRules(doc);
      const ruleSet = compileCfsDeviceRules(doc);
      if (!parsed.ok || !ruleSet.ok) throw new Error('rules do not parse');
      const engine = new RulesEngine(ruleSet.value);
      const query = new CfsAlertQuery(parsed.value);
      fc.assert(
        fc.property(readingSequence, (events) => {
          const state = emptyRulesEngineState(ruleSet.value);
          const queryState = emptyCfsAlertQueryState();
          const fromEngine = events.flatMap((e) => engine.evaluate(state, e, e.deviceType).map((o) => (o.type === 'alert' ? toThresholdAlert(o) : o)));
          const fromQuery = events.flatMap((e) => query.evaluate(queryState, e, e.deviceType));
          const expected = naiveCfsQuery(parsed.value, events);
          expect(fromEngine).toEqual(expected);
          expect(fromQuery).toEqual(expected);
        }),
        { numRuns: 150 },
      );
    });
  }
});
