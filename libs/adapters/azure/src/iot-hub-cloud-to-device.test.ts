import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '@fieldlink/ports/testing';
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

describe('IoT Hub feedback settlement', () => {
  it('tells a settlement the hub refused (lock lost after a dropped connection) and leaves no promise rejected unhandled', async () => {
    const { EventEmitter } = await import('node:events');
    const iotCommon = (await import('azure-iot-common')).default;
    const { IotHubCloudToDevice } = await import('./iot-hub-cloud-to-device.js');
    const logged: Array<{ event: string; fields: unknown }> = [];
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: (event: string, fields?: unknown) => void logged.push({ event, fields }),
      error: (event: string, fields?: unknown) => void logged.push({ event, fields }),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The SDK's feedback receiver: a settlement answers its callback, or without one a promise, rejected when the lock is gone.
      const lockLost = (done?: (error?: Error) => void): Promise<void> | void => {
        const error = new iotCommon.errors.DeviceMessageLockLostError('lock lost');
        if (done) return done(error);
        return Promise.reject(error);
      };
      const receiver = Object.assign(new EventEmitter(), {
        complete: (_m: unknown, done?: (error?: Error) => void) => lockLost(done),
        abandon: (_m: unknown, done?: (error?: Error) => void) => lockLost(done),
      });
      const adapter = new IotHubCloudToDevice({ auth: { connectionString: 'HostName=hub.example;SharedAccessKeyName=service;SharedAccessKey=c2VjcmV0' }, log });
      Object.assign(adapter as unknown as Record<string, unknown>, {
        client: Object.assign(new EventEmitter(), { open: async () => ({}), getFeedbackReceiver: async () => ({ result: receiver }), close: async () => ({}) }),
      });
      await adapter.subscribeFeedback(async () => {
        throw new Error('CRM unavailable');
      });
      receiver.emit('message', new iotCommon.Message('[]'));
      await eventually(() => expect(logged.map((l) => l.event)).toContain('cloud-to-device.feedback-settle-failed'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(logged.find((l) => l.event === 'cloud-to-device.feedback-settle-failed')?.fields).toMatchObject({ operation: 'abandon' });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('IoT Hub feedback receiver after a dropped connection', () => {
  it('attaches a new feedback receiver when the client reports a disconnect, and reads feedback from it', async () => {
    const { EventEmitter } = await import('node:events');
    const iotCommon = (await import('azure-iot-common')).default;
    const { IotHubCloudToDevice } = await import('./iot-hub-cloud-to-device.js');
    const settled: string[] = [];
    const receiverNamed = (name: string) =>
      Object.assign(new EventEmitter(), {
        complete: (_m: unknown, done?: (error?: Error) => void) => (settled.push(`${name} complete`), done?.()),
        abandon: (_m: unknown, done?: (error?: Error) => void) => (settled.push(`${name} abandon`), done?.()),
      });
    const receivers = [receiverNamed('first'), receiverNamed('second')];
    let attached = 0;
    const client = Object.assign(new EventEmitter(), {
      open: async () => ({}),
      getFeedbackReceiver: async () => ({ result: receivers[Math.min(attached++, 1)] }),
      close: async () => ({}),
    });
    const adapter = new IotHubCloudToDevice({ auth: { connectionString: 'HostName=hub.example;SharedAccessKeyName=service;SharedAccessKey=c2VjcmV0' } });
    Object.assign(adapter as unknown as Record<string, unknown>, { client });
    const read: string[] = [];
    const subscription = await adapter.subscribeFeedback(async (batch) => void read.push(...batch.map((f) => f.originalMessageId)));
    onTestFinished(() => subscription.close());
    const record = (id: string) =>
      new iotCommon.Message(JSON.stringify([{ originalMessageId: id, deviceId: 'd', enqueuedTimeUtc: new Date(0).toISOString(), statusCode: 'Success' }]));
    client.emit('disconnect', {});
    await eventually(() => expect(attached).toBe(2), 10_000);
    receivers[0]!.emit('message', record('on-the-dropped-link'));
    receivers[1]!.emit('message', record('after-the-drop'));
    await eventually(() => expect(settled).toEqual(['second complete']));
    expect(read).toEqual(['after-the-drop']);
  });
});
