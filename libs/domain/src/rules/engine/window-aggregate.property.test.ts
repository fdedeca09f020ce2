import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AggregateFunction, WindowSpec } from '../rule-definition.js';
import { initWindowState, windowAccept, windowAdvance } from './window-aggregate.js';

interface Event {
  t: number;
  v: number;
}

const aggregate = (fn: AggregateFunction, values: number[]): number => {
  switch (fn) {
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'count':
      return values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
  }
};

/**
 * Brute force, straight from the Stream Analytics definitions: every window (end - size, end]
 * whose end is a multiple of the hop (size for tumbling) and that holds events, emitted once a
 * later event or the final watermark has passed its end. Sliding: an output per event entering,
 * and one per distinct leaving time no event enters at, each over the events then inside.
 */
function bruteForce(spec: WindowSpec, fn: AggregateFunction, events: Event[], watermark: number): number[] {
  const out: Array<[number, number]> = [];
  const lastTime = events.length > 0 ? events[events.length - 1]!.t : -Infinity;
  const closed = (end: number) => end < lastTime || end < watermark;
  const inside = (end: number, upTo = events.length) =>
    events
      .slice(0, upTo)
      .filter((e) => e.t > end - spec.sizeMs && e.t <= end)
      .map((e) => e.v);
  if (spec.type === 'sliding') {
    events.forEach((e, i) => out.push([e.t, aggregate(fn, inside(e.t, i + 1))]));
    const entering = new Set(events.map((e) => e.t));
    const leaving = [...new Set(events.map((e) => e.t + spec.sizeMs))].filter((x) => !entering.has(x) && closed(x));
    for (const x of leaving) {
      const values = inside(x);
      if (values.length > 0) out.push([x, aggregate(fn, values)]);
    }
  } else {
    const hop = spec.type === 'tumbling' ? spec.sizeMs : spec.hopMs;
    const ends = new Set<number>();
    for (const e of events) for (let end = Math.ceil(e.t / hop) * hop + 0; end < e.t + spec.sizeMs; end += hop) ends.add(end);
    for (const end of ends) if (closed(end)) out.push([end, aggregate(fn, inside(end))]);
  }
  // Stable by time: outputs at the same time keep the order the events gave them.
  return out.sort((a, b) => a[0] - b[0]).flat();
}

const spec: fc.Arbitrary<WindowSpec> = fc.oneof(
  fc.record({ type: fc.constant('tumbling' as const), sizeMs: fc.integer({ min: 1, max: 60 }) }),
  fc
    .integer({ min: 1, max: 20 })
    .chain((hop) => fc.record({ type: fc.constant('hopping' as const), sizeMs: fc.integer({ min: hop, max: hop * 5 }), hopMs: fc.constant(hop) })),
  fc.record({ type: fc.constant('sliding' as const), sizeMs: fc.integer({ min: 1, max: 60 }) }),
);
const events = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), v: fc.integer({ min: -100, max: 100 }) }), { maxLength: 60 }).map((steps) => {
  let t = -50;
  return steps.map((s) => ({ t: (t += s.gap), v: s.v / 4 }));
});

describe('window aggregates', () => {
  it('equal a brute-force recomputation over the same events, for every window kind and aggregate', () => {
    fc.assert(
      fc.property(
        spec,
        fc.constantFrom<AggregateFunction>('avg', 'min', 'max', 'sum', 'count'),
        events,
        fc.integer({ min: 0, max: 100 }),
        (windowSpec, fn, evs, extra) => {
          const s: number[] = [];
          initWindowState(windowSpec, s);
          const out: number[] = [];
          for (const e of evs) windowAccept(windowSpec, fn, s, 0, e.t, e.v, out);
          const watermark = (evs.length > 0 ? evs[evs.length - 1]!.t : 0) + extra;
          windowAdvance(windowSpec, fn, s, 0, watermark, out);
          expect(out).toEqual(bruteForce(windowSpec, fn, evs, watermark));
        },
      ),
      { numRuns: 400 },
    );
  });
});
