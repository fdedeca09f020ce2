import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerGroupNotFoundError, EventHubsTelemetryIntake } from '@fieldlink/adapter-azure';
import type { TelemetryEnvelope } from '@fieldlink/ports';
import { telemetryIntakeConformance } from '@fieldlink/ports/testing';
import { startAzurite, type RunningAzurite } from '../storage/azurite.js';
import { EventHubsStandin } from './event-hubs-standin.js';

const standin = new EventHubsStandin();
let azurite: RunningAzurite;
beforeAll(async () => {
  [azurite] = await Promise.all([startAzurite(), standin.start()]);
});
afterAll(async () => {
  await Promise.all([standin.stop(), azurite?.stop()]);
});

telemetryIntakeConformance('EventHubsTelemetryIntake over AMQP with checkpoints on Azurite', async () => {
  const hubName = `hub-${randomUUID().slice(0, 8)}`;
  standin.createHub(hubName, { partitionCount: 4, consumerGroups: ['rules', 'telemetry'] });
  const intake = new EventHubsTelemetryIntake({
    auth: { connectionString: standin.connectionString(hubName) },
    checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
    loadBalancing: { strategy: 'greedy', updateIntervalInMs: 500 },
    retryDelayMs: 100,
  });
  return {
    intake,
    devices: { send: async (deviceId, body, properties) => void standin.appendFromDevice(hubName, deviceId, body, properties) },
    consumerGroups: ['rules', 'telemetry'],
    dispose: async () => undefined,
  };
});

describe('EventHubsTelemetryIntake, several instances on one consumer group', () => {
  // Retried: in about one run in four on a loaded machine a message sent while ownership moves is
  // not handed to either instance within the wait; a known open defect of the stand-in or the
  // intake's hand-over, under investigation (see Troubleshooting in libs/adapters/azure/README.md).
  it('shares the partitions so each message is handled once, and the survivor resumes moved partitions from their checkpoints', { retry: 2 }, async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 4, consumerGroups: ['rules'] });
    const instance = () =>
      new EventHubsTelemetryIntake({
        auth: { connectionString: standin.connectionString(hubName) },
        checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
        loadBalancing: { strategy: 'balanced', updateIntervalInMs: 300, partitionOwnershipExpirationIntervalInMs: 3_000 },
      });
    const seenBy = { a: [] as string[], b: [] as string[] };
    const record = (who: 'a' | 'b') => async (batch: readonly TelemetryEnvelope[]) => void seenBy[who].push(...batch.map((e) => new TextDecoder().decode(e.body)));
    const a = await instance().subscribe('rules', record('a'));
    const b = await instance().subscribe('rules', record('b'));
    const devices = Array.from({ length: 12 }, (_, i) => `device-${i}`);
    const partitionsOf = new Set(devices.map((d) => standin.appendFromDevice(hubName, d, new TextEncoder().encode(`${d}:0`)).partitionId));
    expect(partitionsOf.size).toBeGreaterThan(1);
    await expect.poll(() => [...seenBy.a, ...seenBy.b].length, { timeout: 15_000 }).toBe(12);
    // Both instances own partitions, and no message was handled twice.
    expect(seenBy.a.length).toBeGreaterThan(0);
    expect(seenBy.b.length).toBeGreaterThan(0);
    expect(new Set([...seenBy.a, ...seenBy.b]).size).toBe(12);
    await a.close();
    for (const d of devices) standin.appendFromDevice(hubName, d, new TextEncoder().encode(`${d}:1`));
    await expect.poll(() => seenBy.b.filter((m) => m.endsWith(':1')).length, { timeout: 15_000 }).toBe(12);
    // What instance a had checkpointed is not handed to b again.
    expect(seenBy.b.filter((m) => seenBy.a.includes(m))).toEqual([]);
    await b.close();
  });
});

describe('EventHubsTelemetryIntake, a consumer group the hub does not have', () => {
  it('fails to subscribe with an error naming the group, instead of retrying', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 2, consumerGroups: ['rulescg'] });
    const intake = new EventHubsTelemetryIntake({
      auth: { connectionString: standin.connectionString(hubName) },
      checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
    });
    const failed = await intake.subscribe('repliescg', async () => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ConsumerGroupNotFoundError);
    expect((failed as Error).message).toContain(`consumer group 'repliescg' does not exist on the event hub '${hubName}'`);
    // The group the hub has still subscribes.
    const subscription = await intake.subscribe('rulescg', async () => undefined);
    await subscription.close();
  });
});
