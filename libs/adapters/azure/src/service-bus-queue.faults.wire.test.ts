// ServiceBusQueue under the faults the system test injects into the Service Bus stand-in:
// server-busy refusals, held deliveries and forced redelivery.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueError } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { ServiceBusStandin } from '@fieldlink/azure-standins';
import { ServiceBusQueue } from './service-bus-queue.js';

const standin = new ServiceBusStandin();
beforeAll(async () => {
  await standin.start();
});
afterAll(async () => {
  await standin.stop();
});

const text = new TextEncoder();
const queueOf = (options: { retry?: { maxRetries?: number; retryDelayInMs?: number; timeoutInMs?: number } } = {}): ServiceBusQueue => {
  const queueName = `q-${randomUUID().slice(0, 8)}`;
  standin.createQueue(queueName, { lockDurationMs: 60_000 });
  return new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName, ...options });
};

describe('ServiceBusQueue under Service Bus faults', () => {
  it('refuses sends with com.microsoft:server-busy while busy, and takes them again after', async () => {
    const queue = queueOf({ retry: { maxRetries: 0 } });
    try {
      await queue.send([{ messageId: 'before', body: text.encode('1') }]); // connected before the fault
      const refusedBefore = standin.serverBusyRefusals;
      standin.serverBusy(1_500);
      await expect(queue.send([{ messageId: 'during', body: text.encode('2') }])).rejects.toThrow(/throttled/);
      expect(standin.serverBusyRefusals).toBe(refusedBefore + 1);
      expect(standin.counts(queue.name).active).toBe(1);
      // Once the window is over the same send is taken.
      await eventually(() => queue.send([{ messageId: 'during', body: text.encode('2') }]), 10_000, 200);
      expect(standin.counts(queue.name).active).toBe(2);
    } finally {
      await queue.close();
    }
  });

  it('delivers nothing while deliveries are held, and what waited once the hold ends', async () => {
    const queue = queueOf();
    try {
      await queue.send([{ messageId: 'held', body: text.encode('x') }]);
      standin.holdDeliveries(1_000);
      const started = Date.now();
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 300 })).toEqual([]);
      let got: Awaited<ReturnType<ServiceBusQueue['receive']>> = [];
      await eventually(async () => {
        got = await queue.receive({ maxMessages: 1, maxWaitMs: 500 });
        expect(got.map((m) => m.messageId)).toEqual(['held']);
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      await queue.complete(got[0]!);
    } finally {
      await queue.close();
    }
  });

  it('forced redelivery: a locked message loses its lock, comes again with a higher delivery count, and the old lock settles nothing', async () => {
    const queue = queueOf();
    try {
      await queue.send([{ messageId: 'again', body: text.encode('x') }]);
      const [first] = await queue.receive({ maxMessages: 1, maxWaitMs: 2_000 });
      expect(first?.deliveryCount).toBe(1);
      expect(standin.redeliverLocked()).toBeGreaterThanOrEqual(1);
      const error = await queue.complete(first!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueError);
      expect((error as QueueError).code).toBe('MessageLockLost');
      const [second] = await queue.receive({ maxMessages: 1, maxWaitMs: 2_000 });
      expect(second?.messageId).toBe('again');
      expect(second?.deliveryCount).toBe(2);
      await queue.complete(second!);
      expect(standin.counts(queue.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
    } finally {
      await queue.close();
    }
  });
});
