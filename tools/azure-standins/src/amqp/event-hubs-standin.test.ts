// The Event Hubs stand-in seen through the Event Hubs SDK itself (the adapter's own tests are in
// libs/adapters/azure): how it treats the owner level of partition receivers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { EventHubConsumerClient, earliestEventPosition } from '@azure/event-hubs';
import { EventHubsStandin } from './event-hubs-standin.js';

const standin = new EventHubsStandin();
beforeAll(async () => {
  await standin.start();
});
afterAll(async () => {
  await standin.stop();
});

describe('Event Hubs stand-in, owner level (epoch) of partition receivers', () => {
  // https://learn.microsoft.com/dotnet/api/azure.messaging.eventhubs.consumer.readeventoptions.ownerlevel :
  // a receiver with an owner level takes the partition from readers with the same or a lower
  // level and from readers without one; those get ConsumerDisconnected (AMQP `amqp:link:stolen`).
  const events = async (ownerLevel: number | undefined, hubName: string) => {
    const client = new EventHubConsumerClient('$Default', standin.connectionString(hubName), { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
    const seen = { errors: [] as string[], closed: [] as string[], opened: false };
    const subscription = client.subscribe(
      '0',
      {
        processInitialize: async () => void (seen.opened = true),
        processEvents: async () => undefined,
        processError: async (error) => void seen.errors.push(String((error as { code?: unknown }).code)),
        processClose: async (reason) => void seen.closed.push(reason),
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2, ...(ownerLevel === undefined ? {} : { ownerLevel }) },
    );
    // Closed when the test ends, passed or failed.
    onTestFinished(async () => {
      await subscription.close();
      await client.close();
    });
    return { seen };
  };

  it('displaces a reader of the same or a lower level with amqp:link:stolen, and refuses a reader without a level while one with a level reads', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 1 });
    const first = await events(1, hubName);
    await expect.poll(() => standin.readerCount(hubName, '$Default', '0'), { timeout: 10_000 }).toBe(1);
    const second = await events(1, hubName);
    // The SDK maps amqp:link:stolen to ReceiverDisconnectedError and stops the displaced reader.
    await expect.poll(() => first.seen, { timeout: 10_000 }).toMatchObject({ errors: ['ReceiverDisconnectedError'], closed: ['OwnershipLost'] });
    await expect.poll(() => standin.readerCount(hubName, '$Default', '0'), { timeout: 10_000 }).toBe(1);
    const lower = await events(0, hubName);
    await expect.poll(() => lower.seen.errors, { timeout: 10_000 }).toEqual(['ReceiverDisconnectedError']);
    const without = await events(undefined, hubName);
    await expect.poll(() => without.seen.errors, { timeout: 10_000 }).toEqual(['ReceiverDisconnectedError']);
    // The reader with the highest level is still the one reading.
    expect(second.seen.errors).toEqual([]);
  });
});
