import { describe, expect, it } from 'vitest';
import { parseFeedback } from './iot-hub-cloud-to-device.js';

describe('IoT Hub feedback records', () => {
  it('maps each record of a feedback batch to DeliveryFeedback by its original message id', () => {
    const body = JSON.stringify([
      {
        originalMessageId: 'a',
        deviceGenerationId: 'g',
        deviceId: 'd1',
        enqueuedTimeUtc: '2026-11-28T09:00:00.000Z',
        statusCode: 'Success',
        description: 'Success',
      },
      {
        originalMessageId: 'b',
        deviceGenerationId: 'g',
        deviceId: 'd2',
        enqueuedTimeUtc: '2026-11-28T09:00:01.000Z',
        statusCode: 'DeliveryCountExceeded',
        description: 'Message delivery count exceeded',
      },
    ]);
    expect(parseFeedback(body)).toEqual([
      { originalMessageId: 'a', deviceId: 'd1', status: 'Success', description: 'Success', enqueuedTime: Date.parse('2026-11-28T09:00:00.000Z') },
      {
        originalMessageId: 'b',
        deviceId: 'd2',
        status: 'DeliveryCountExceeded',
        description: 'Message delivery count exceeded',
        enqueuedTime: Date.parse('2026-11-28T09:00:01.000Z'),
      },
    ]);
  });

  it('refuses a status it does not know, naming the record', () => {
    expect(() => parseFeedback('[{"originalMessageId":"a","deviceId":"d","enqueuedTimeUtc":"2026-11-28T09:00:00Z","statusCode":"Lost"}]')).toThrow(
      "feedback.0.statusCode: unknown status 'Lost'",
    );
    expect(() => parseFeedback('{}')).toThrow('expected a JSON array');
    expect(() => parseFeedback('[{')).toThrow(
      expect.objectContaining({ name: 'AzureAdapterError', code: 'UnexpectedResponse', cause: expect.any(SyntaxError) }),
    );
    expect(() => parseFeedback('[null]')).toThrow(
      expect.objectContaining({ code: 'UnexpectedResponse', message: "feedback.0.statusCode: unknown status 'undefined'" }),
    );
  });
});
