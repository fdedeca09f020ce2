import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignCommaJoined, parseCommaJoinedObjects } from './comma-joined.js';

const jsonObject = fc
  .dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

describe('parseCommaJoinedObjects (properties)', () => {
  it('gives back every object of any list joined with commas, whatever the objects hold', () => {
    fc.assert(
      fc.property(fc.array(jsonObject, { minLength: 1, maxLength: 6 }), (objects) => {
        expect(parseCommaJoinedObjects(objects.map((o) => JSON.stringify(o)).join(','), ['x'])).toEqual({ ok: true, value: objects });
      }),
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string(), (text) => void parseCommaJoinedObjects(text, ['x'])));
  });
});

describe('alignCommaJoined (properties)', () => {
  const value = fc.string({ unit: fc.constantFrom('a', 'b', ',', ' ', 'é'), maxLength: 6 });

  it('locates every value when the known values are exactly what was joined, commas inside values and all', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        expect(alignCommaJoined(values.join(','), values)).toEqual(values);
      }),
    );
  });

  it('never locates a value at a place the text does not hold it: the located prefix and suffix re-join into the text', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 6 }),
        fc.array(fc.option(value, { nil: undefined }), { minLength: 1, maxLength: 6 }),
        (joined, known) => {
          const text = joined.join(',');
          const found = alignCommaJoined(text, known);
          expect(found).toHaveLength(known.length);
          found.forEach((f, i) => {
            if (f !== undefined) expect(f).toBe(known[i]);
          });
          // Whatever was located from the start is the start of the text, in order.
          const head: string[] = [];
          for (const f of found) {
            if (f === undefined) break;
            head.push(f);
          }
          if (head.length > 0 && head.length < found.length) expect(text.startsWith(`${head.join(',')},`)).toBe(true);
          if (head.length === found.length) expect(head.join(',')).toBe(text);
        },
      ),
    );
  });
});
