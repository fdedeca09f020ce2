// The stand-ins' fault injection, as the system test uses it, seen through the Service Bus SDK
// itself (how Fieldlink's adapter copes with the same faults is tested beside it, in
// libs/adapters/azure): server-busy, held deliveries and forced redelivery.
import { randomUUID } from 'node:crypto';
import { isServiceBusError, ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSender } from '@azure/service-bus';
import { eventually } from '@fieldlink/ports/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ServiceBusStandin } from './service-bus-standin.js';

const standin = new ServiceBusStandin();
beforeAll(async () => {
  await standin.start();
});
afterAll(async () => {
  await standin.stop();
});

interface SdkQueue {
  readonly name: string;
  readonly sender: ServiceBusSender;
  readonly receiver: ServiceBusReceiver;
}

/** A new queue with the SDK's sender and peek-lock receiver on it; the client is closed when the test ends, passed or failed. */
const queueOf = (retryOptions: { maxRetries?: number; retryDelayInMs?: number; timeoutInMs?: number } = {}): SdkQueue => {
  const name = `q-${randomUUID().slice(0, 8)}`;
  standin.createQueue(name, { lockDurationMs: 60_000 });
  const client = new ServiceBusClient(standin.connectionString, { retryOptions });
  onTestFinished(() => client.close());
  return { name, sender: client.createSender(name), receiver: client.createReceiver(name, { receiveMode: 'peekLock' }) };
};

const codeOf = (error: unknown): string | undefined => (isServiceBusError(error) ? error.code : undefined);

describe('Service Bus stand-in faults', () => {
  it('refuses sends with com.microsoft:server-busy while busy, and takes them again after', async () => {
    const queue = queueOf({ maxRetries: 0 });
    await queue.sender.sendMessages({ messageId: 'before', body: '1' }); // connected before the fault
    const refusedBefore = standin.serverBusyRefusals;
    standin.serverBusy(1_500);
    const refused = await queue.sender.sendMessages({ messageId: 'during', body: '2' }).catch((e: unknown) => e);
    // The SDK's name for com.microsoft:server-busy.
    expect(codeOf(refused)).toBe('ServiceBusy');
    expect(standin.serverBusyRefusals).toBe(refusedBefore + 1);
    expect(standin.counts(queue.name).active).toBe(1);
    // Once the window is over the same send is taken.
    await eventually(() => queue.sender.sendMessages({ messageId: 'during', body: '2' }), 10_000, 200);
    expect(standin.counts(queue.name).active).toBe(2);
  });

  it('delivers nothing while deliveries are held, and what waited once the hold ends', async () => {
    const queue = queueOf();
    await queue.sender.sendMessages({ messageId: 'held', body: 'x' });
    standin.holdDeliveries(1_000);
    const started = Date.now();
    expect(await queue.receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
    let got: ServiceBusReceivedMessage[] = [];
    await eventually(async () => {
      got = await queue.receiver.receiveMessages(1, { maxWaitTimeInMs: 500 });
      expect(got.map((m) => m.messageId)).toEqual(['held']);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await queue.receiver.completeMessage(got[0]!);
  });

  it('forced redelivery: a locked message loses its lock, comes again with a higher delivery count, and the old lock settles nothing', async () => {
    const queue = queueOf();
    await queue.sender.sendMessages({ messageId: 'again', body: 'x' });
    const [first] = await queue.receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(first?.deliveryCount).toBe(0);
    expect(standin.redeliverLocked()).toBeGreaterThanOrEqual(1);
    const lost = await queue.receiver.completeMessage(first!).catch((e: unknown) => e);
    expect(codeOf(lost)).toBe('MessageLockLost');
    const [second] = await queue.receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(second?.messageId).toBe('again');
    expect(second?.deliveryCount).toBe(1);
    await queue.receiver.completeMessage(second!);
    expect(standin.counts(queue.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
  });
});
