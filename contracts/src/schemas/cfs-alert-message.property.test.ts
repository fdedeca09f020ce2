import { cfsAlertMessageSchema, decodeCfsAlertMessage, encodeCfsAlertMessage, toValidationIssues, type CfsAlertElement } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hubDeviceIdArbitrary,
  invalidUtf8Arbitrary,
  isoTimeArbitrary,
  jsonNumberArbitrary,
  mutationArbitrary,
  withByteOrderMark,
  withInvalidUtf8,
  type FieldSpec,
} from './mutations.js';

const FIELDS: FieldSpec[] = [
  { name: 'deviceid', type: 'string', required: true, maxLength: 128 },
  { name: 'readingtype', type: 'string', required: true, maxLength: 128 },
  { name: 'reading', type: 'number', required: true },
  { name: 'eventtoken', type: 'string', required: true, maxLength: 128 },
  { name: 'threshold', type: 'number', required: true },
  { name: 'ruleoutput', type: 'string', required: true, maxLength: 128 },
  { name: 'time', type: 'string', required: true },
];

const elementArbitrary: fc.Arbitrary<CfsAlertElement> = fc.record({
  deviceid: hubDeviceIdArbitrary,
  readingtype: fc.constantFrom('Temperature', 'Humidity', 'Pressure'),
  reading: jsonNumberArbitrary,
  eventtoken: fc.uuid(),
  threshold: jsonNumberArbitrary,
  ruleoutput: fc.constantFrom('AlarmTemp', 'AlarmHumidity', ''),
  time: isoTimeArbitrary,
});
const messageArbitrary = fc.array(elementArbitrary, { minLength: 1, maxLength: 5 });
const text = (value: unknown): string => JSON.stringify(value);

describe('CFS alerts-queue message (flow 6)', () => {
  it('any valid message survives decode then encode unchanged, element by element', () => {
    fc.assert(
      fc.property(messageArbitrary, (elements) => {
        const decoded = decodeCfsAlertMessage(text(elements));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.value.map((d) => d.element)).toEqual(elements);
        expect(JSON.parse(new TextDecoder().decode(encodeCfsAlertMessage(decoded.value.map((d) => d.alert))))).toEqual(elements);
      }),
    );
  });

  it('any missing field, wrong type, extra nesting, oversized string, NaN or infinity in any element is refused with an issue naming the element and field, never thrown', () => {
    fc.assert(
      fc.property(messageArbitrary, mutationArbitrary(FIELDS), fc.nat(), (elements, mutation, pick) => {
        const index = pick % elements.length;
        const mutated: unknown[] = elements.map((e, i) => (i === index ? mutation.apply(e as Record<string, unknown>) : e));
        // NaN and infinity cannot be written as JSON text: they reach the schema as values.
        const result = mutation.kind === 'NaN' || mutation.kind === 'infinity' ? decodeWithValues(mutated) : decodeCfsAlertMessage(text(mutated));
        expect(result.ok, `${mutation.kind} of ${mutation.field} was accepted`).toBe(false);
        if (!result.ok) expect(result.error.map((e) => e.path)).toContain(`${index}.${mutation.field}`);
      }),
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in the body is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(messageArbitrary, invalidUtf8Arbitrary, (elements, bad) => {
        expect(decodeCfsAlertMessage(withByteOrderMark(text(elements)))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeCfsAlertMessage(withInvalidUtf8(text(elements), bad))).toMatchObject({
          ok: false,
          error: [{ path: 'body', message: 'is not valid UTF-8' }],
        });
      }),
    );
  });

  it('any text at all decodes to a result, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 64 })), (body) => {
        const result = decodeCfsAlertMessage(body);
        if (!result.ok) for (const issue of result.error) expect(issue.path.length).toBeGreaterThan(0);
      }),
    );
  });
});

/** The schema on values: what a caller holding parsed JSON (or a NaN from arithmetic) gets. */
function decodeWithValues(value: unknown): { ok: true } | { ok: false; error: Array<{ path: string }> } {
  const parsed = cfsAlertMessageSchema.safeParse(value);
  return parsed.success ? { ok: true } : { ok: false, error: toValidationIssues(parsed.error) };
}
