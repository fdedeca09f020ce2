import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConsumerGroupNotFoundError, EventHubsTelemetryIntake } from './event-hubs-telemetry-intake.js';
import type { TelemetryEnvelope, TelemetrySubscription } from '@fieldlink/ports';
import { eventually, telemetryIntakeConformance } from '@fieldlink/ports/testing';
import { startAzurite, type RunningAzurite, EventHubsStandin } from '@fieldlink/azure-standins';

const standin = new EventHubsStandin();
let azurite: RunningAzurite;
beforeAll(async () => {
  [azurite] = await Promise.all([startAzurite(), standin.start()]);
});
afterAll(async () => {
  await Promise.all([standin.stop(), azurite?.stop()]);
});

/** Closes the subscription when the test ends, passed or failed; a test may close it earlier as one of its steps. */
const closedAtEnd = (subscription: TelemetrySubscription): TelemetrySubscription => {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= subscription.close());
  onTestFinished(close);
  return { close, partitions: () => subscription.partitions?.() ?? [] };
};

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
  const text = new TextEncoder();
  const held = (subscription: TelemetrySubscription): string[] => (subscription.partitions?.() ?? []).map((p) => p.partitionId).sort();

  it('shares the partitions so each message is handled once, and the survivor resumes moved partitions from their checkpoints', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 4, consumerGroups: ['rules'] });
    const instance = () =>
      new EventHubsTelemetryIntake({
        auth: { connectionString: standin.connectionString(hubName) },
        checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
        loadBalancing: { strategy: 'balanced', updateIntervalInMs: 300, partitionOwnershipExpirationIntervalInMs: 3_000 },
      });
    const seenBy = { a: [] as string[], b: [] as string[] };
    const record = (who: 'a' | 'b') => async (batch: readonly TelemetryEnvelope[]) =>
      void seenBy[who].push(...batch.map((e) => new TextDecoder().decode(e.body)));
    const a = closedAtEnd(await instance().subscribe('rules', record('a')));
    // The first instance reads every partition before the second starts, so the second takes
    // partitions that are being read (the hand-over under test), among them partition 0.
    await expect.poll(() => held(a), { timeout: 15_000 }).toEqual(['0', '1', '2', '3']);
    const b = closedAtEnd(await instance().subscribe('rules', record('b')));
    // Balanced: two partitions each, none read by both (a displaced reader lets go of its partition).
    await expect
      .poll(() => ({ a: held(a).length, b: held(b).length, both: held(a).filter((p) => held(b).includes(p)) }), { timeout: 15_000 })
      .toEqual({ a: 2, b: 2, both: [] });
    const devices = Array.from({ length: 12 }, (_, i) => `device-${i}`);
    const partitionsOf = new Set(devices.map((d) => standin.appendFromDevice(hubName, d, text.encode(`${d}:0`)).partitionId));
    expect(partitionsOf.size).toBeGreaterThan(1);
    await expect.poll(() => [...seenBy.a, ...seenBy.b].sort(), { timeout: 10_000 }).toEqual(devices.map((d) => `${d}:0`).sort());
    // Both instances handled messages, and none was handled twice.
    expect(seenBy.a.length).toBeGreaterThan(0);
    expect(seenBy.b.length).toBeGreaterThan(0);
    await a.close();
    for (const d of devices) standin.appendFromDevice(hubName, d, text.encode(`${d}:1`));
    await expect.poll(() => seenBy.b.filter((m) => m.endsWith(':1')).length, { timeout: 15_000 }).toBe(12);
    // What instance a had checkpointed is not handed to b again.
    expect(seenBy.b.filter((m) => seenBy.a.includes(m))).toEqual([]);
  });

  it('a second instance subscribing does not take a partition from the instance reading it', async () => {
    // One partition: the balanced share of the second instance is none, so the first keeps it.
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 1, consumerGroups: ['rules'] });
    const instance = () =>
      new EventHubsTelemetryIntake({
        auth: { connectionString: standin.connectionString(hubName) },
        checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
        loadBalancing: { strategy: 'balanced', updateIntervalInMs: 300, partitionOwnershipExpirationIntervalInMs: 60_000 },
      });
    const seenBy = { a: [] as string[], b: [] as string[] };
    const record = (who: 'a' | 'b') => async (batch: readonly TelemetryEnvelope[]) =>
      void seenBy[who].push(...batch.map((e) => new TextDecoder().decode(e.body)));
    const a = closedAtEnd(await instance().subscribe('rules', record('a')));
    await expect.poll(() => held(a), { timeout: 15_000 }).toEqual(['0']);
    standin.appendFromDevice(hubName, 'device-0', text.encode('before'));
    await expect.poll(() => seenBy.a, { timeout: 10_000 }).toEqual(['before']);
    closedAtEnd(await instance().subscribe('rules', record('b')));
    for (const n of [1, 2, 3]) standin.appendFromDevice(hubName, 'device-0', text.encode(`after-${n}`));
    await expect.poll(() => seenBy.a, { timeout: 10_000 }).toEqual(['before', 'after-1', 'after-2', 'after-3']);
    expect(held(a)).toEqual(['0']);
    expect(seenBy.b).toEqual([]);
  });
});

describe('EventHubsTelemetryIntake, a batch whose handler keeps failing', () => {
  it('waits longer before each new hand-over of the batch: the ceiling of its jittered wait doubles (the waits it logs)', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 1, consumerGroups: ['rules'] });
    const warnings: Array<Record<string, unknown>> = [];
    const log = {
      info: () => undefined,
      warn: (event: string, fields?: Record<string, unknown>) => void (event === 'telemetry-intake.batch-failed' && warnings.push(fields ?? {})),
      error: () => undefined,
    };
    const intake = new EventHubsTelemetryIntake({
      auth: { connectionString: standin.connectionString(hubName) },
      checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
      loadBalancing: { strategy: 'greedy', updateIntervalInMs: 300 },
      retryDelayMs: 20,
      // The top of each jitter range, so the logged waits are the ceilings.
      random: () => 0.999_999_9,
      log,
    });
    let calls = 0;
    closedAtEnd(
      await intake.subscribe('rules', async () => {
        calls += 1;
        if (calls <= 5) throw new Error(`store unavailable (${calls})`);
      }),
    );
    standin.appendFromDevice(hubName, 'device-0', new TextEncoder().encode('{}'));
    await expect.poll(() => calls, { timeout: 15_000 }).toBe(6);
    expect(warnings.map((w) => [w['attempt'], w['retryInMs']])).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
      [4, 160],
      [5, 320],
    ]);
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
    const failed = await intake
      .subscribe('repliescg', async () => undefined)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(ConsumerGroupNotFoundError);
    expect((failed as Error).message).toContain(`consumer group 'repliescg' does not exist on the event hub '${hubName}'`);
    // The group the hub has still subscribes.
    closedAtEnd(await intake.subscribe('rulescg', async () => undefined));
  });
});

describe('EventHubsTelemetryIntake, partitions the hub does not have', () => {
  it("fails to subscribe at once with a RangeError naming the partition and the hub's partitions, instead of retrying", async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 2, consumerGroups: ['rulescg'] });
    let tries = 0;
    const intake = new EventHubsTelemetryIntake({
      auth: { connectionString: standin.connectionString(hubName) },
      checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
      retryDelayMs: 10,
      log: { info: () => undefined, error: () => undefined, warn: (event) => void (event === 'telemetry-intake.subscribe-failed' && tries++) },
    });
    const failed = await intake
      .subscribe('rulescg', async () => undefined, { partitions: ['1', '2'] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(RangeError);
    expect((failed as Error).message).toBe('The hub has no partition "2"; its partitions are 0, 1.');
    expect(tries).toBe(0);
    // The partitions it has subscribe.
    const received: TelemetryEnvelope[] = [];
    const subscription = closedAtEnd(await intake.subscribe('rulescg', async (batch) => void received.push(...batch), { partitions: ['1', '0'] }));
    await expect
      .poll(
        () =>
          subscription
            .partitions?.()
            .map((p) => p.partitionId)
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual(['0', '1']);
  });
});

describe('EventHubsTelemetryIntake, a connection dropped while it subscribes', () => {
  it('sets up again with back-off and subscribes once the hub answers, logging each failed try', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 2, consumerGroups: ['rulescg'] });
    // A loopback proxy in front of the stand-in that drops its first two connections, as a hub
    // does whose connections are dropped while a restarted service starts.
    const target = Number(/127\.0\.0\.1:(\d+)/.exec(standin.connectionString(hubName))![1]);
    let toDrop = 2;
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      sockets.add(client);
      if (toDrop-- > 0) return void client.destroy();
      const upstream = createConnection(target, '127.0.0.1');
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    });
    const port = (proxy.address() as AddressInfo).port;
    const warned: Array<Record<string, unknown>> = [];
    const intake = new EventHubsTelemetryIntake({
      auth: { connectionString: standin.connectionString(hubName).replace(`127.0.0.1:${target}`, `127.0.0.1:${port}`) },
      checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
      // Every partition claimed at once (the default claims one per 10 s cycle).
      loadBalancing: { strategy: 'greedy', updateIntervalInMs: 500 },
      // The SDK's own retries off, so that what the adapter does shows.
      retry: { maxRetries: 0 },
      retryDelayMs: 50,
      random: () => 0.5,
      log: {
        info: () => undefined,
        error: () => undefined,
        warn: (event, fields) => void (event === 'telemetry-intake.subscribe-failed' && warned.push(fields ?? {})),
      },
    });
    const received: TelemetryEnvelope[] = [];
    closedAtEnd(await intake.subscribe('rulescg', async (batch) => void received.push(...batch)));
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned[0]).toMatchObject({ consumerGroup: 'rulescg', attempt: 1, of: 6, retryInMs: 25 });
    standin.appendFromDevice(hubName, 'thermostat-1', new TextEncoder().encode('{"DeviceID":"thermostat-1"}'));
    await eventually(() => expect(received).toHaveLength(1), 30_000);
  });

  it('gives up after subscribeAttempts tries, with the last failure', async () => {
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 2, consumerGroups: ['rulescg'] });
    // Nothing listens on this port once the probe server is closed: every connection is refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const target = /127\.0\.0\.1:(\d+)/.exec(standin.connectionString(hubName))![1];
    let tries = 0;
    const intake = new EventHubsTelemetryIntake({
      auth: { connectionString: standin.connectionString(hubName).replace(`127.0.0.1:${target}`, `127.0.0.1:${port}`) },
      checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
      retry: { maxRetries: 0 },
      retryDelayMs: 10,
      subscribeAttempts: 3,
      log: { info: () => undefined, error: () => undefined, warn: (event) => void (event === 'telemetry-intake.subscribe-failed' && tries++) },
    });
    await expect(intake.subscribe('rulescg', async () => undefined)).rejects.toThrow(`Subscribing to telemetry with consumer group 'rulescg' failed`);
    expect(tries).toBe(2);
  });
});
