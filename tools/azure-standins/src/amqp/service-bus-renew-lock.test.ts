// The Service Bus stand-in's `com.microsoft:renew-lock` management operation, seen through the SDK
// itself (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-amqp-request-response#message-renew-lock):
// what the SDK's renewMessageLock and its automatic lock renewal rely on.
import { randomUUID } from 'node:crypto';
import { isServiceBusError, ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ServiceBusStandin } from './service-bus-standin.js';

const standin = new ServiceBusStandin();
beforeAll(async () => {
  await standin.start();
});
afterAll(async () => {
  await standin.stop();
});

const lockDurationMs = 2_000;

/** A new queue with a short lock, a sender and two peek-lock receivers (competing consumers) without automatic renewal. */
const queueOf = () => {
  const name = `q-${randomUUID().slice(0, 8)}`;
  standin.createQueue(name, { lockDurationMs });
  const client = new ServiceBusClient(standin.connectionString, { retryOptions: { maxRetries: 0 } });
  onTestFinished(() => client.close());
  const receiver = () => client.createReceiver(name, { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 });
  return { name, sender: client.createSender(name), holder: receiver(), competitor: receiver(), client };
};

describe('Service Bus stand-in: com.microsoft:renew-lock', () => {
  it('answers the new expiry and keeps the message locked past the first one', async () => {
    const queue = queueOf();
    await queue.sender.sendMessages({ messageId: 'm', body: 'm' });
    const [m] = await queue.holder.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    const firstExpiry = m!.lockedUntilUtc!.getTime();
    // Renewed twice, half a lock duration apart, and waited on for half a lock duration more: held
    // past the first expiry, which a competing receiver waiting all along would otherwise have got.
    for (let i = 0; i < 2; i++) {
      expect(await queue.competitor.receiveMessages(1, { maxWaitTimeInMs: lockDurationMs / 2 })).toEqual([]);
      const renewed = await queue.holder.renewMessageLock(m!);
      expect(renewed.getTime()).toBeGreaterThan(firstExpiry);
      expect(m!.lockedUntilUtc!.getTime()).toBe(renewed.getTime());
    }
    expect(await queue.competitor.receiveMessages(1, { maxWaitTimeInMs: lockDurationMs / 2 })).toEqual([]);
    await queue.holder.completeMessage(m!);
    expect(standin.counts(queue.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
  });

  it('refuses to renew a lock that lapsed, as MessageLockLost, and the message went to another receiver', async () => {
    const queue = queueOf();
    await queue.sender.sendMessages({ messageId: 'm', body: 'm' });
    const [m] = await queue.holder.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    const [again] = await queue.competitor.receiveMessages(1, { maxWaitTimeInMs: lockDurationMs * 3 });
    expect(again).toMatchObject({ messageId: 'm', deliveryCount: 1 });
    const refused = await queue.holder.renewMessageLock(m!).catch((e: unknown) => e);
    expect(isServiceBusError(refused) ? refused.code : refused).toBe('MessageLockLost');
    await queue.competitor.completeMessage(again!);
  });

  it('keeps a lock through the SDK’s automatic renewal while the message is in hand', async () => {
    const queue = queueOf();
    const renewing = queue.client.createReceiver(queue.name, { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 60_000 });
    await queue.sender.sendMessages({ messageId: 'm', body: 'm' });
    const [m] = await renewing.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    expect(await queue.competitor.receiveMessages(1, { maxWaitTimeInMs: lockDurationMs * 2.5 })).toEqual([]);
    await renewing.completeMessage(m!);
    expect(standin.counts(queue.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
  });
});
