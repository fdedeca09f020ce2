import { decodeDeliveryFeedback, deliveryFeedbackMessageSchema, encodeDeliveryFeedback, toValidationIssues, type DeliveryFeedback } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hubDeviceIdArbitrary,
  invalidUtf8Arbitrary,
  isoTimeArbitrary,
  mutationArbitrary,
  withByteOrderMark,
  withInvalidUtf8,
  type FieldSpec,
} from './mutations.js';

const FIELDS: FieldSpec[] = [
  { name: 'originalMessageId', type: 'string', required: true, maxLength: 128 },
  { name: 'deviceId', type: 'string', required: true, maxLength: 128 },
  { name: 'statusCode', type: 'string', required: true },
  { name: 'enqueuedTimeUtc', type: 'string', required: true },
];

const feedbackArbitrary: fc.Arbitrary<DeliveryFeedback> = fc.record({
  originalMessageId: fc.uuid(),
  deviceId: hubDeviceIdArbitrary,
  status: fc.constantFrom('Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'),
  description: fc.string({ minLength: 1, maxLength: 40 }),
  enqueuedTime: isoTimeArbitrary.map((t) => Date.parse(t)),
});
const recordsArbitrary = fc.array(feedbackArbitrary, { minLength: 1, maxLength: 5 });
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('IoT Hub delivery feedback message (flows 16–19 feedback)', () => {
  it('any valid feedback survives encode then decode unchanged', () => {
    fc.assert(
      fc.property(recordsArbitrary, (feedback) => {
        expect(decodeDeliveryFeedback(encodeDeliveryFeedback(feedback))).toEqual({ ok: true, value: feedback });
      }),
    );
  });

  it('any missing field, wrong type, extra nesting or oversized string in any record is refused with an issue naming the record and field, never thrown', () => {
    fc.assert(
      fc.property(recordsArbitrary, mutationArbitrary(FIELDS), fc.nat(), (feedback, mutation, pick) => {
        const records = JSON.parse(text(encodeDeliveryFeedback(feedback))) as Array<Record<string, unknown>>;
        const index = pick % records.length;
        records[index] = mutation.apply(records[index]!);
        const parsed = deliveryFeedbackMessageSchema.safeParse(records);
        expect(parsed.success, `${mutation.kind} of ${mutation.field} was accepted`).toBe(false);
        if (!parsed.success) expect(toValidationIssues(parsed.error).map((i) => i.path)).toContain(`${index}.${mutation.field}`);
        expect(decodeDeliveryFeedback(JSON.stringify(records)).ok).toBe(false);
      }),
    );
  });

  it('an unknown status code is refused at statusCode', () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.string().filter((s) => !['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'].includes(s)),
        (feedback, status) => {
          const records = JSON.parse(text(encodeDeliveryFeedback(feedback))) as Array<Record<string, unknown>>;
          records[0]!['statusCode'] = status;
          expect(decodeDeliveryFeedback(JSON.stringify(records))).toMatchObject({ ok: false, error: [{ path: '0.statusCode' }] });
        },
      ),
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in the body is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(recordsArbitrary, invalidUtf8Arbitrary, (feedback, bad) => {
        const json = text(encodeDeliveryFeedback(feedback));
        expect(decodeDeliveryFeedback(withByteOrderMark(json))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeDeliveryFeedback(withInvalidUtf8(json, bad))).toMatchObject({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
      }),
    );
  });
});
