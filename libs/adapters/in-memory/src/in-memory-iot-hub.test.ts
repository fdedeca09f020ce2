import { cloudToDeviceConformance, deviceClientConformance, deviceRegistryConformance, eventually, telemetryIntakeConformance } from '@fieldlink/ports/testing';
import { describe, expect, it } from 'vitest';
import { InMemoryIotHub } from './in-memory-iot-hub.js';
import { ManualClock } from './system-clock.js';

const newHub = () => {
  const clock = new ManualClock(Date.parse('2026-11-28T09:00:00Z'));
  const hub = new InMemoryIotHub({ clock, handlerRetryDelayMs: 5, cloudToDevice: { feedbackRetryDelayMs: 5, expiryCheckIntervalMs: 0 } });
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
    const hub = new InMemoryIotHub({ partitionCount: 1, firstSequenceNumber: 5_000 });
    const seen: number[] = [];
    const subscription = await hub.subscribe('rules', async (batch) => {
      for (const e of batch) seen.push(e.sequenceNumber);
    });
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    await hub.send('thermostat-1', new TextEncoder().encode('{}'));
    await eventually(() => expect(seen).toEqual([5_000, 5_001]));
    await subscription.close();
    await hub.close();
    expect(() => new InMemoryIotHub({ firstSequenceNumber: -1 })).toThrow('firstSequenceNumber');
  });
});
