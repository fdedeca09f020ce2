import type { TelemetryEnvelope, TelemetryPartitionContext } from '@fieldlink/ports';
import { cloudToDeviceConformance, deviceClientConformance, deviceRegistryConformance, eventually, telemetryIntakeConformance } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { InMemoryIotHub } from './in-memory-iot-hub.js';
import { ManualClock } from './system-clock.js';

/** The hubs a test opened: closed after it, whether it passed or not. */
const opened: InMemoryIotHub[] = [];
const track = (hub: InMemoryIotHub): InMemoryIotHub => (opened.push(hub), hub);
afterEach(async () => {
  for (const hub of opened.splice(0)) await hub.close();
});

const newHub = () => {
  const clock = new ManualClock(Date.parse('2026-11-28T09:00:00Z'));
  const hub = track(new InMemoryIotHub({ clock, handlerRetryDelayMs: 5, cloudToDevice: { feedbackRetryDelayMs: 5, expiryCheckIntervalMs: 0 } }));
  return { clock, hub };
};

deviceRegistryConformance('InMemoryIotHub registry', async () => {
  const { hub } = newHub();
  return { registry: hub.registry, dispose: () => hub.close() };
});

cloudToDeviceConformance('InMemoryIotHub cloud-to-device', async () => {
  const { hub, clock } = newHub();
  return {
    cloudToDevice: hub.cloudToDevice,
    devices: hub,
    maxDeliveryCount: 10,
    registerDevice: async (deviceId) => void (await hub.registerDevices([{ deviceId }])),
    advanceTime: async (ms) => {
      clock.advance(ms);
      hub.cloudToDevice.expireDue();
    },
    dispose: () => hub.close(),
    patienceMs: 2_000,
  };
});

deviceClientConformance('InMemoryIotHub device client', async () => {
  const { hub } = newHub();
  return { devices: hub, registry: hub, telemetry: hub, consumerGroup: '$Default', dispose: () => hub.close(), patienceMs: 2_000 };
});

telemetryIntakeConformance('InMemoryIotHub telemetry', async () => {
  const { hub } = newHub();
  return { intake: hub, devices: hub, consumerGroups: ['rules', 'telemetry'], dispose: () => hub.close(), patienceMs: 2_000 };
});

describe('InMemoryIotHub sequence numbers', () => {
  it('start at firstSequenceNumber and increase by one per event of a partition, so a hub started again numbers above an earlier run', async () => {
    const hub = track(new InMemoryIotHub({ partitionCount: 1, firstSequenceNumber: 5_000 }));
    const seen: number[] = [];
    const subscription = await hub.subscribe('rules', async (batch) => {
      for (const e of batch) seen.push(e.sequenceNumber);
    });
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    await eventually(() => expect(seen).toEqual([5_000, 5_001]));
    await subscription.close();
    expect(() => new InMemoryIotHub({ firstSequenceNumber: -1 })).toThrow('firstSequenceNumber');
  });
});

describe('InMemoryIotHub retention', () => {
  it('keeps the last retentionPerPartition events of a partition, however many came before, and hands over exactly those to a group behind them', async () => {
    const hub = track(new InMemoryIotHub({ partitionCount: 1, retentionPerPartition: 5 }));
    // The group's checkpoint is set at the start, then it stops reading while 2,500 events arrive.
    await (await hub.subscribe('behind', async () => undefined)).close();
    for (let n = 0; n < 2_500; n++) await hub.send('thermostat-1', new TextEncoder().encode(String(n)));
    expect(hub.uncheckpointed('behind')).toBe(5);
    const seen: Array<[number, string]> = [];
    const subscription = await hub.subscribe('behind', async (batch) => {
      for (const e of batch) seen.push([e.sequenceNumber, new TextDecoder().decode(e.body)]);
    });
    onTestFinished(() => subscription.close());
    await eventually(() => expect(seen).toHaveLength(5));
    await hub.send('thermostat-1', new TextEncoder().encode('2500'));
    await eventually(() => expect(seen).toHaveLength(6));
    expect(seen).toEqual([2_495, 2_496, 2_497, 2_498, 2_499, 2_500].map((n) => [n, String(n)]));
  });
});

describe('InMemoryIotHub telemetry: how far a partition goes', () => {
  it('tells each partition context the newest sequence number the partition holds, sent after the batch too, and lists every partition of a subscription before it handed anything', async () => {
    const { hub } = newHub();
    const handed: Array<{ envelope: TelemetryEnvelope; partition: TelemetryPartitionContext }> = [];
    const subscription = await hub.subscribe('rules', async (batch, partition) => void handed.push(...batch.map((envelope) => ({ envelope, partition }))), {
      checkpoints: 'by-handler',
    });
    expect(subscription.partitions?.().map((p) => p.partitionId)).toEqual(['0', '1', '2', '3']);
    expect(subscription.partitions?.().map((p) => p.lastEnqueuedSequenceNumber?.())).toEqual([-1, -1, -1, -1]);
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    await eventually(() => expect(handed).toHaveLength(1));
    const [{ envelope, partition }] = handed as [(typeof handed)[number]];
    expect(partition.lastEnqueuedSequenceNumber?.()).toBe(envelope.sequenceNumber);
    await subscription.close();
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    expect(partition.lastEnqueuedSequenceNumber?.()).toBe(envelope.sequenceNumber + 1);
    expect(subscription.partitions?.()).toEqual([]);
  });
});

describe('InMemoryIotHub recorded messages (fieldlink replay)', () => {
  it('keeps the recorded enqueued time of a replayed message, and counts what a consumer group has not checkpointed', async () => {
    const { hub } = newHub();
    const handed: Array<{ deviceId: string; enqueuedTime: number }> = [];
    let checkpoint: (() => Promise<void>) | undefined;
    const subscription = await hub.subscribe(
      'rules',
      async (batch, partition) => {
        for (const e of batch) handed.push({ deviceId: e.connectionDeviceId, enqueuedTime: e.enqueuedTime });
        const last = batch[batch.length - 1]!;
        checkpoint = () => partition.checkpoint(last);
      },
      { checkpoints: 'by-handler' },
    );
    onTestFinished(() => subscription.close());
    const recorded = Date.parse('2026-06-01T08:00:00Z');
    await hub.sendRecorded('thermostat-1', new TextEncoder().encode('{}'), recorded);
    await eventually(() => expect(handed).toEqual([{ deviceId: 'thermostat-1', enqueuedTime: recorded }]));
    expect(hub.uncheckpointed('rules')).toBe(1);
    await checkpoint!();
    expect(hub.uncheckpointed('rules')).toBe(0);
  });
});
