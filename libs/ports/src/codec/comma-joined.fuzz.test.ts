import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignCommaJoined, parseCommaJoinedObjects, splitTopLevelCommas } from './comma-joined.js';

/* Random bytes (as text), random JSON and random known values: the comma-list readers answer, never throw or hang. */
const anyText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => new TextDecoder().decode(b)),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }).map((values) => values.map((v) => JSON.stringify(v)).join(',')),
);

describe('comma-joined readers (fuzz)', () => {
  it('parseCommaJoinedObjects answers any text with objects or issues naming a part, never a throw', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = parseCommaJoinedObjects(text, ['IoTDeviceTags']);
        if (r.ok) expect(r.value.every((v) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v)))).toBe(true);
        else expect(r.error.every((i) => i.path.startsWith('IoTDeviceTags.'))).toBe(true);
      }),
    );
  });

  it('splitTopLevelCommas loses no character but the separating commas', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(splitTopLevelCommas(text).join(',')).toBe(text);
      }),
    );
  });

  it('alignCommaJoined answers any text and any known values with one entry per value, each the known value or undefined', () => {
    fc.assert(
      fc.property(anyText, fc.array(fc.option(fc.string({ maxLength: 10 }), { nil: undefined }), { maxLength: 8 }), (text, known) => {
        const found = alignCommaJoined(text, known);
        expect(found).toHaveLength(known.length);
        found.forEach((f, i) => expect(f === undefined || f === known[i]).toBe(true));
      }),
    );
  });
});
