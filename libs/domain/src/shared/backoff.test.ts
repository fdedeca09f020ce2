import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

/** The largest double below 1: the top of what a source of [0, 1) can give. */
const ALMOST_ONE = 1 - 2 ** -53;
const policy = { baseMs: 1_000, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('waits nothing when the draw is 0, whatever the attempt', () => {
    expect([0, 1, 5, 40].map((attempt) => backoffDelay(policy, attempt, () => 0))).toEqual([0, 0, 0, 0]);
  });

  it('waits the ceiling when the draw is just under 1: base doubling per attempt, capped at maxMs', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(policy, attempt, () => ALMOST_ONE));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('counts an attempt below 0 as the first, and stops doubling after 30 attempts', () => {
    expect(backoffDelay(policy, -3, () => ALMOST_ONE)).toBe(1_000);
    const uncapped = { baseMs: 1, maxMs: 2 ** 40 };
    expect(backoffDelay(uncapped, 30, () => ALMOST_ONE)).toBe(2 ** 30);
    expect(backoffDelay(uncapped, 1_000, () => ALMOST_ONE)).toBe(2 ** 30);
  });

  it('scales the draw over the range: half a draw, half the ceiling', () => {
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(4_000);
  });

  it('property: every wait is a whole number of ms in [0, min(maxMs, baseMs * 2^attempt)]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, maxMs, attempt, r) => {
          const delay = backoffDelay({ baseMs, maxMs }, attempt, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, baseMs * 2 ** attempt));
        },
      ),
    );
  });

  it('property: a larger draw never waits less (instances that draw apart wait apart)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          expect(backoffDelay(policy, attempt, () => low)).toBeLessThanOrEqual(backoffDelay(policy, attempt, () => high));
        },
      ),
    );
  });
});
