import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommaJoinedObjects } from './comma-joined.js';

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

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
