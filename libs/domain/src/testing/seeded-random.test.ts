import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { between, pick, seededRandom } from './seeded-random.js';

describe('seededRandom', () => {
  it('property: one seed gives one sequence, every value in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        const first = Array.from({ length: 20 }, () => a());
        expect(Array.from({ length: 20 }, () => b())).toEqual(first);
        for (const v of first) expect(v >= 0 && v < 1).toBe(true);
      }),
    );
  });

  it('property: between stays within its bounds and pick takes an item of the list', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: -50, max: 50 }), fc.nat(100), (seed, min, span) => {
        const random = seededRandom(seed);
        const n = between(random, min, min + span);
        expect(n >= min && n <= min + span && Number.isInteger(n)).toBe(true);
        expect(['a', 'b', 'c']).toContain(pick(random, ['a', 'b', 'c']));
      }),
    );
  });

  it('differs between two seeds', () => {
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
  });
});
