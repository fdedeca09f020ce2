import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ServiceBusQueue } from './service-bus-queue.js';
import { QueueError, type ReceivedQueueMessage } from '@fieldlink/ports';
import { messageQueueConformance } from '@fieldlink/ports/testing';
import { ServiceBusStandin } from '@fieldlink/azure-standins';

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
  // The suite holds the queue's own lock semantics (a lock lapses unless renewed); the adapter's
  // automatic renewal of the messages in hand is tested on its own below.
  const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName, maxAutoLockRenewalMs: 0 });
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

  it('leaves no listener on the caller’s abort signal, however many receives it is given to', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName);
    const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    onTestFinished(() => queue.close());
    // A queue processor's signal lives as long as the processor, and goes with every receive.
    const controller = new AbortController();
    await queue.send([{ messageId: 'a', body: text.encode('a') }]);
    const got = await queue.receive({ maxMessages: 5, maxWaitMs: 1_000, signal: controller.signal });
    expect(got.map((m) => m.messageId)).toEqual(['a']);
    await queue.complete(got[0]!);
    // Empty receives: each ends by draining the link's credit.
    for (let i = 0; i < 15; i++) expect(await queue.receive({ maxMessages: 5, maxWaitMs: 20, signal: controller.signal })).toEqual([]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // And a receive waiting when the signal aborts still ends at once.
    const waiting = queue.receive({ maxMessages: 5, maxWaitMs: 30_000, signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort').length).toBeGreaterThan(0);
    controller.abort();
    expect(await waiting).toEqual([]);
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

describe('ServiceBusQueue over AMQP, locks renewed while a message is in hand', () => {
  const text = new TextEncoder();
  // Short enough to outlast several times in a test; the SDK renews a lock when half of what is left of it has passed.
  const lockDurationMs = 2_000;

  it('completes once a message whose handling outlasts the lock, which no other receiver gets meanwhile', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName, { lockDurationMs, maxDeliveryCount: 10 });
    const holder = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    const competitor = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    onTestFinished(async () => void (await Promise.all([holder.close(), competitor.close()])));
    await holder.send([{ messageId: 'slow', body: text.encode('slow') }]);
    const [inHand] = await holder.receive({ maxMessages: 1, maxWaitMs: 1_000 });
    expect(inHand).toMatchObject({ messageId: 'slow', deliveryCount: 1 });
    // The handler's work: as long as another instance waits on the queue, 2.5 lock durations.
    expect(await competitor.receive({ maxMessages: 1, maxWaitMs: lockDurationMs * 2.5 })).toEqual([]);
    await holder.complete(inHand!);
    expect(standin.counts(queueName)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
    expect(holder.stats().lockLost).toBe(0);
    expect(await competitor.receive({ maxMessages: 1, maxWaitMs: 500 })).toEqual([]);
  });

  it('gives a message back once its renewal time is up: a holder that stalls keeps no lock for good', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName, { lockDurationMs, maxDeliveryCount: 10 });
    const holder = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName, maxAutoLockRenewalMs: lockDurationMs * 1.5 });
    const competitor = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    onTestFinished(async () => void (await Promise.all([holder.close(), competitor.close()])));
    await holder.send([{ messageId: 'stalled', body: text.encode('stalled') }]);
    const [inHand] = await holder.receive({ maxMessages: 1, maxWaitMs: 1_000 });
    const [again] = await competitor.receive({ maxMessages: 1, maxWaitMs: lockDurationMs * 5 });
    expect(again).toMatchObject({ messageId: 'stalled', deliveryCount: 2 });
    await expect(holder.complete(inHand!)).rejects.toSatisfy((e: unknown) => e instanceof QueueError && e.code === 'MessageLockLost');
    await competitor.complete(again!);
    expect(standin.counts(queueName)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
  });
});

describe('ServiceBusQueue over AMQP, connections dropped under it', () => {
  const text = new TextEncoder();
  const decode = (m: { body: Uint8Array }): string => new TextDecoder().decode(m.body);

  it('peeks the dead letters again after the connection dropped', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName);
    const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
    try {
      await queue.send([{ messageId: 'bad', body: text.encode('bad') }]);
      const [bad] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await queue.deadLetter(bad!, { reason: 'Malformed', description: 'not JSON' });
      expect((await queue.peekDeadLetters(10)).map((m) => [m.messageId, m.reason])).toEqual([['bad', 'Malformed']]);
      expect(standin.dropConnections()).toBeGreaterThan(0);
      // The management node is opened again on a new connection, with a token for the node itself.
      expect((await queue.peekDeadLetters(10)).map((m) => [m.messageId, m.reason, m.description])).toEqual([['bad', 'Malformed', 'not JSON']]);
    } finally {
      await queue.close();
    }
  });

  it(
    'loses nothing when connections drop while messages are handled: each takes effect once, malformed ones are dead-lettered with their reason',
    { timeout: 180_000 },
    async () => {
      const queueName = `q-${randomUUID().slice(0, 8)}`;
      standin.createQueue(queueName, { lockDurationMs: 3_000, maxDeliveryCount: 10 });
      const queue = new ServiceBusQueue({
        auth: { connectionString: standin.connectionString },
        queueName,
        retry: { retryDelayInMs: 100, maxRetryDelayInMs: 2_000 },
      });
      onTestFinished(() => queue.close());
      const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
      const malformed = new Set(['m5', 'm23']);
      await queue.send(ids.map((id) => ({ messageId: id, body: text.encode(malformed.has(id) ? '{' : JSON.stringify({ id })) })));
      // The flow's effect, idempotent by message id (as the alert and command flows are by token).
      const effects = new Map<string, number>();
      let deliveries = 0;
      let lockLost = 0;
      let drops = 0;
      const handle = async (m: ReceivedQueueMessage): Promise<void> => {
        deliveries += 1;
        if (deliveries === 8 || deliveries === 19 || deliveries === 31) drops += standin.dropConnections() > 0 ? 1 : 0;
        try {
          if (malformed.has(m.messageId)) {
            await queue.deadLetter(m, { reason: 'Malformed', description: `body ${decode(m)} is not JSON` });
            return;
          }
          const { id } = JSON.parse(decode(m)) as { id: string };
          if (!effects.has(id)) effects.set(id, m.deliveryCount);
          await queue.complete(m);
        } catch (error) {
          // A lock lost with the connection: the message comes again and is recognised.
          if (error instanceof QueueError && error.code === 'MessageLockLost') lockLost += 1;
          else throw error;
        }
      };
      const done = () => effects.size === ids.length - malformed.size && standin.counts(queueName).active === 0;
      const receiveErrors: string[] = [];
      while (!done()) {
        let batch: ReceivedQueueMessage[] = [];
        try {
          batch = await queue.receive({ maxMessages: 4, maxWaitMs: 500 });
        } catch (error) {
          receiveErrors.push((error as Error).message);
          if (receiveErrors.length > 20) throw error;
        }
        for (const m of batch) await handle(m);
      }
      expect(drops).toBe(3);
      expect([...effects.keys()].sort()).toEqual(ids.filter((id) => !malformed.has(id)).sort());
      expect(standin.counts(queueName)).toEqual({ active: 0, deadLetters: 2, locked: 0 });
      expect(
        standin
          .deadLetters(queueName)
          .map((d) => [d.messageId, d.reason])
          .sort(),
      ).toEqual([
        ['m23', 'Malformed'],
        ['m5', 'Malformed'],
      ]);
      expect((await queue.peekDeadLetters(10)).map((m) => m.messageId).sort()).toEqual(['m23', 'm5']);
      // What a lost lock brought back was delivered again, and the adapter counted each lost lock.
      expect(queue.stats().lockLost).toBe(lockLost);
      expect(deliveries).toBeGreaterThanOrEqual(ids.length);
    },
  );
});
