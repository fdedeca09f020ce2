import { CfsAlertQuery, emptyCfsAlertQueryState, THERMOSTAT_DEFAULT_RULES, type TelemetryEvent } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CfsRuleEvaluator } from './rule-evaluator.js';

const T = Date.parse('2026-11-28T09:00:00.000Z');
const THRESHOLD = THERMOSTAT_DEFAULT_RULES.find((r) => r.deviceType === 'Thermostat' && r.readingType === 'Temperature')!.threshold;

describe('CfsRuleEvaluator', () => {
  it('property: working on batch views, committing some and dropping others, with pruning through the time index of the compact memory up to the newest reading it remembered, it raises and remembers exactly what the CFS query over a plain map does', () => {
    const event = fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      reading: fc.constantFrom(69, 71, 72, 86),
      stepMs: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: -150_000, max: 0 })),
    });
    const batch = fc.record({ events: fc.array(event, { minLength: 1, maxLength: 5 }), fails: fc.boolean() });
    fc.assert(
      fc.property(fc.array(batch, { maxLength: 25 }), (batches) => {
        const evaluator = new CfsRuleEvaluator();
        const query = new CfsAlertQuery(THERMOSTAT_DEFAULT_RULES);
        const committed = evaluator.initialState();
        const reference = emptyCfsAlertQueryState();
        let time = T;
        let latest = T;
        // The newest reading over its threshold that a committed batch held: the memory forgets up to it, never beyond.
        let newestOver = -Infinity;
        let n = 0;
        for (const b of batches) {
          const view = evaluator.changes.begin(committed);
          const referenceView = { lastAlertAt: new Map(reference.lastAlertAt) };
          let viewLatest = latest;
          let viewNewestOver = newestOver;
          for (const e of b.events) {
            time += e.stepMs;
            viewLatest = Math.max(viewLatest, time);
            if (e.reading > THRESHOLD) viewNewestOver = Math.max(viewNewestOver, time);
            const telemetry: TelemetryEvent = {
              deviceId: `thermostat-${e.device}`,
              eventToken: `t${n++}`,
              enqueuedTime: time,
              readings: { Temperature: e.reading },
            };
            expect(evaluator.evaluate(view, telemetry, 'Thermostat', THERMOSTAT_DEFAULT_RULES)).toEqual(query.evaluate(referenceView, telemetry, 'Thermostat'));
          }
          evaluator.advance(view, viewLatest);
          if (viewNewestOver !== -Infinity) query.prune(referenceView, Math.min(viewLatest, viewNewestOver));
          expect(new Map(view.entries())).toEqual(referenceView.lastAlertAt);
          if (b.fails) continue; // dropped: neither the committed state nor the reference changes
          evaluator.changes.commit(view);
          reference.lastAlertAt.clear();
          for (const [k, v] of referenceView.lastAlertAt) reference.lastAlertAt.set(k, v);
          latest = viewLatest;
          newestOver = viewNewestOver;
          expect(new Map(committed.entries())).toEqual(reference.lastAlertAt);
        }
      }),
      { numRuns: 300 },
    );
  });
});
