import { cloudToDeviceConformance, deviceClientConformance, deviceRegistryConformance, telemetryIntakeConformance } from '@fieldlink/ports/testing';
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
