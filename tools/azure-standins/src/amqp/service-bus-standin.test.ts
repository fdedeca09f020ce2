import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceBusQueue } from '@fieldlink/adapter-azure';
import { messageQueueConformance } from '@fieldlink/ports/testing';
import { ServiceBusStandin } from './service-bus-standin.js';

const standin = new ServiceBusStandin();
beforeAll(async () => {
  await standin.start();
});
afterAll(async () => {
  await standin.stop();
});

messageQueueConformance('ServiceBusQueue over AMQP', async (settings) => {
  const queueName = `q-${randomUUID().slice(0, 8)}`;
  standin.createQueue(queueName, { lockDurationMs: settings.lockDurationMs, maxDeliveryCount: settings.maxDeliveryCount });
  const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
  return {
    queue,
    advanceTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => queue.close(),
  };
});

describe('ServiceBusQueue over AMQP, beyond the port contract', () => {
  const text = new TextEncoder();

  it('sends many messages in batches that the queue receives whole', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName);
    const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    try {
      const body = 'x'.repeat(20_000);
      await queue.send(Array.from({ length: 30 }, (_, i) => ({ messageId: `m${i}`, body: text.encode(`${i}:${body}`) })));
      expect(standin.counts(queueName).active).toBe(30);
    } finally {
      await queue.close();
    }
  });

  it('holds no more messages locked than its concurrency allows', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName);
    const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName, concurrency: 2 });
    try {
      await queue.send(['a', 'b', 'c'].map((id) => ({ messageId: id, body: text.encode(id) })));
      const first = await queue.receive({ maxMessages: 10, maxWaitMs: 1_000 });
      expect(first).toHaveLength(2);
      expect(await queue.receive({ maxMessages: 10, maxWaitMs: 0 })).toEqual([]);
      await queue.complete(first[0]!);
      expect((await queue.receive({ maxMessages: 10, maxWaitMs: 1_000 })).map((m) => m.messageId)).toEqual(['c']);
    } finally {
      await queue.close();
    }
  });

  it('refuses a connection string with the wrong key, without echoing the key', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName);
    const wrongKey = `wrong-${randomUUID()}`;
    const connectionString = standin.connectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${wrongKey}`);
    const queue = new ServiceBusQueue({ auth: { connectionString }, queueName, retry: { maxRetries: 0 } });
    try {
      const error = await queue.send([{ messageId: 'a', body: text.encode('a') }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toMatch(/401|unauthori[sz]ed|put-token/i);
      expect(message).not.toContain(wrongKey);
      expect(JSON.stringify(error)).not.toContain(wrongKey);
      expect(standin.counts(queueName).active).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('reports a malformed connection string without echoing its key', () => {
    const key = `secret-${randomUUID()}`;
    let caught: unknown;
    try {
      new ServiceBusQueue({ auth: { connectionString: `SharedAccessKeyName=x;SharedAccessKey=${key}` }, queueName: 'q' });
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toMatch(/misconfigured.*Endpoint/);
    expect((caught as Error).message).not.toContain(key);
  });
});
