import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LayeredMap } from './layered-map.js';

type Op = { readonly op: 'set'; readonly key: number; readonly value: number } | { readonly op: 'delete'; readonly key: number } | { readonly op: 'clear' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 9 }), value: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

const apply = (map: Map<number, number>, op: Op): unknown => (op.op === 'set' ? map.set(op.key, op.value) === map : op.op === 'delete' ? map.delete(op.key) : map.clear());

describe('LayeredMap', () => {
  it('property: reads as a copy changed by the same operations, leaves the committed map alone until commit, and commit makes it that copy', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer())), fc.array(opArbitrary), (initial, ops) => {
        const committed = new Map(initial);
        const before = [...committed];
        const model = new Map(committed);
        const layered = new LayeredMap(committed);
        for (const op of ops) expect(apply(layered, op)).toEqual(apply(model, op));
        const sorted = (entries: Iterable<[number, number]>) => [...entries].sort((a, b) => a[0] - b[0]);
        expect(sorted(layered)).toEqual(sorted(model));
        expect(layered.size).toBe(model.size);
        for (let key = 0; key < 10; key++) {
          expect(layered.get(key)).toBe(model.get(key));
          expect(layered.has(key)).toBe(model.has(key));
        }
        expect([...committed]).toEqual(before);
        layered.commit();
        expect(sorted(committed)).toEqual(sorted(model));
        expect([...layered.changes()]).toEqual([]);
      }),
    );
  });
});
