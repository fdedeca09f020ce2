import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FILTER_DEPTH, ODataSyntaxError, tryParseFilter } from './odata-filter.js';

/** Pieces a $filter is made of, and pieces that break one, strung together at random. */
const piece = fc.constantFrom(
  '(',
  ')',
  ' ',
  ',',
  '=',
  "'",
  "''",
  'and',
  'or',
  'not',
  'eq',
  'ne',
  'gt',
  'le',
  'contains',
  'startswith',
  'msdyn_name',
  '_msdyn_device_value',
  '1',
  '-2.5e3',
  '1e999',
  'true',
  'null',
  '2026-11-28T09:15:00Z',
  '2026-13-45',
  'c0ffee00-1234-4abc-8def-0123456789ab',
  '%',
  '\u0000',
  '\u{1F600}',
);
const structured = fc.array(piece, { maxLength: 60 }).map((parts) => parts.join(' '));
const nested = fc
  .tuple(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom('(', 'not ', '( not '))
  .map(([n, open]) => `${open.repeat(n)}msdyn_name eq 'a'${open.includes('(') ? ')'.repeat(n) : ''}`);

const expectTyped = (text: string): void => {
  const parsed = tryParseFilter(text);
  if (!parsed.ok) {
    expect(parsed.error).toBeInstanceOf(ODataSyntaxError);
    expect(parsed.error.message.length).toBeGreaterThan(0);
  }
};

describe('the $filter parser under fuzzing', () => {
  it('answers any string (random UTF-16 and random bytes read as text) with a tree or an ODataSyntaxError, never a throw', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), expectTyped), { numRuns: 2_000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => expectTyped(Buffer.from(bytes).toString('latin1'))),
      { numRuns: 1_000 },
    );
  });

  it('answers random strings of filter tokens with a tree or an ODataSyntaxError, never a throw', () => {
    fc.assert(fc.property(structured, expectTyped), { numRuns: 3_000 });
  });

  it(`answers nesting of any depth with a tree up to ${MAX_FILTER_DEPTH} levels and an ODataSyntaxError past them, never a stack overflow`, () => {
    fc.assert(
      fc.property(nested, (text) => {
        const parsed = tryParseFilter(text);
        expect(parsed.ok || parsed.error instanceof ODataSyntaxError).toBe(true);
        if (!parsed.ok) expect(parsed.error.message).toMatch(/deeper than|characters long/);
      }),
      { numRuns: 200 },
    );
  });
});
