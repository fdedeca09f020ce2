import { describe, expect, it } from 'vitest';
import { decodeDeliveryFeedback, encodeDeliveryFeedback } from './delivery-feedback-message.js';

// The record shape IoT Hub documents for cloud-to-device feedback.
const hubBody = JSON.stringify([
  {
    originalMessageId: 'c0ffee00-1234-4abc-8def-0123456789ab',
    description: 'Success',
    statusCode: 'Success',
    deviceGenerationId: '637012345678901234',
    deviceId: "thermostat'1",
    enqueuedTimeUtc: '2026-11-28T09:15:04.789Z',
  },
  { originalMessageId: 'm-2', description: 'Message expired', statusCode: 'Expired', deviceId: 'thermostat-2', enqueuedTimeUtc: '2026-11-28T10:15:04Z' },
]);

describe('delivery feedback message', () => {
  it('reads the records of a hub feedback message, correlated by original message id', () => {
    expect(decodeDeliveryFeedback(hubBody)).toEqual({
      ok: true,
      value: [
        {
          originalMessageId: 'c0ffee00-1234-4abc-8def-0123456789ab',
          deviceId: "thermostat'1",
          status: 'Success',
          description: 'Success',
          enqueuedTime: Date.parse('2026-11-28T09:15:04.789Z'),
        },
        {
          originalMessageId: 'm-2',
          deviceId: 'thermostat-2',
          status: 'Expired',
          description: 'Message expired',
          enqueuedTime: Date.parse('2026-11-28T10:15:04Z'),
        },
      ],
    });
  });

  it('writes feedback that reads back the same', () => {
    const decoded = decodeDeliveryFeedback(hubBody);
    if (!decoded.ok) throw new Error('fixture must decode');
    expect(decodeDeliveryFeedback(encodeDeliveryFeedback(decoded.value))).toEqual(decoded);
  });

  it('names the record and field that are wrong', () => {
    const bad = JSON.parse(hubBody) as Array<Record<string, unknown>>;
    bad[1]!['statusCode'] = 'Lost';
    delete bad[0]!['originalMessageId'];
    const result = decodeDeliveryFeedback(JSON.stringify(bad));
    expect(!result.ok && result.error.map((i) => i.path)).toEqual(['0.originalMessageId', '1.statusCode']);
  });
});
