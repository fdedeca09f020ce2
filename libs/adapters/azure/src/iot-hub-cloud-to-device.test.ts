import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { eventually } from '@fieldlink/ports/testing';
import { parseFeedback } from './iot-hub-cloud-to-device.js';
import { RECONNECT_BACKOFF } from './retry-policy.js';

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
    // The lowest draw of the back-off: attached again at once.
    const adapter = new IotHubCloudToDevice({
      auth: { connectionString: 'HostName=hub.example;SharedAccessKeyName=service;SharedAccessKey=c2VjcmV0' },
      random: () => 0,
    });
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

describe('IoT Hub feedback receiver: back-off while attaching again fails', () => {
  afterEach(() => void vi.useRealTimers());

  /** A subscription on a stubbed SDK client whose feedback receiver fails `failures` times after the first attach; the attempts' times on the fake clock. */
  const subscribedWith = async (random: () => number, failures: number) => {
    const { EventEmitter } = await import('node:events');
    const { IotHubCloudToDevice } = await import('./iot-hub-cloud-to-device.js');
    const receiver = Object.assign(new EventEmitter(), { complete: () => undefined, abandon: () => undefined });
    const attemptsAt: number[] = [];
    let calls = 0;
    const client = Object.assign(new EventEmitter(), {
      open: async () => ({}),
      getFeedbackReceiver: async () => {
        if (calls++ > 0) attemptsAt.push(Date.now());
        if (calls > 1 && calls <= failures + 1) throw Object.assign(new Error('hub unreachable'), { name: 'NotConnectedError' });
        return { result: receiver };
      },
      close: async () => ({}),
    });
    const adapter = new IotHubCloudToDevice({
      auth: { connectionString: 'HostName=hub.example;SharedAccessKeyName=service;SharedAccessKey=c2VjcmV0' },
      random,
    });
    Object.assign(adapter as unknown as Record<string, unknown>, { client });
    const subscription = await adapter.subscribeFeedback(async () => undefined);
    return { client, receiver, attemptsAt, subscription, attached: () => calls };
  };

  it('waits with full jitter under a ceiling doubling from 1 s to 10 s: at the top of the draw, 1, 2, 4, 8, 10, 10 s', async () => {
    vi.useFakeTimers();
    const { client, attemptsAt, subscription } = await subscribedWith(() => 0.999_999_9, 5);
    const lostAt = Date.now();
    client.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(60_000);
    const waits = attemptsAt.map((at, i) => at - (i === 0 ? lostAt : attemptsAt[i - 1]!));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    await subscription.close();
  });

  it('keeps every wait within [0, min(10 s, 1 s * 2^attempt)] for any draw, and starts over after it attached', async () => {
    vi.useFakeTimers();
    const draws = [0, 0.5, 0.25, 0.75, 0.1, 0.9, 0.3];
    let next = 0;
    const { client, receiver, attemptsAt, subscription, attached } = await subscribedWith(() => draws[next++ % draws.length]!, 6);
    const lostAt = Date.now();
    client.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attached()).toBe(8); // the first attach, 6 failed, the 7th worked
    const waits = attemptsAt.map((at, i) => at - (i === 0 ? lostAt : attemptsAt[i - 1]!));
    waits.forEach((wait, attempt) => {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(Math.min(RECONNECT_BACKOFF.maxMs, RECONNECT_BACKOFF.baseMs * 2 ** attempt));
      expect(wait).toBe(Math.floor(draws[attempt]! * (Math.min(RECONNECT_BACKOFF.maxMs, RECONNECT_BACKOFF.baseMs * 2 ** attempt) + 1)));
    });
    // Lost again: the back-off starts from its first ceiling (1 s), not from where it stopped.
    const secondLossAt = Date.now();
    next = 0;
    receiver.emit('error', new Error('link detached'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attached()).toBe(9);
    expect(attemptsAt.at(-1)! - secondLossAt).toBeLessThanOrEqual(RECONNECT_BACKOFF.baseMs);
    await subscription.close();
  });

  it('attaches no more once closed, whatever the back-off still had to wait', async () => {
    vi.useFakeTimers();
    const { client, subscription, attached } = await subscribedWith(() => 0.999_999_9, 100);
    client.emit('disconnect', {});
    await vi.advanceTimersByTimeAsync(3_500); // attempts at 1 s and 3 s
    expect(attached()).toBe(3);
    await subscription.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attached()).toBe(3);
  });
});
