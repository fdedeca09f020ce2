import type { DeviceClientPort, DeviceConnection } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { runFleetLoad } from './fleet-load.js';
import { ThermostatFleet } from './thermostat-fleet.js';

const countingClient = () => {
  const perDevice = new Map<string, number>();
  const client: DeviceClientPort = {
    connect: async (deviceId): Promise<DeviceConnection> => ({
      deviceId,
      sendTelemetry: async () => void perDevice.set(deviceId, (perDevice.get(deviceId) ?? 0) + 1),
      onCloudToDeviceMessage: () => undefined,
      reportProperties: async () => undefined,
      close: async () => undefined,
    }),
  };
  return { client, perDevice };
};

describe('runFleetLoad', () => {
  it('sends about R messages per second over N devices, round robin, for the bounded time, then removes its devices', async () => {
    const { client, perDevice } = countingClient();
    const fleet = new ThermostatFleet({ deviceClient: client });
    const result = await runFleetLoad(fleet, { devices: 20, messagesPerSecond: 2_000, durationMs: 300 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // Paced open loop: never ahead of the schedule, and not far behind it on an idle machine.
    expect(result.value.sent).toBeLessThanOrEqual(2_000 * (result.value.elapsedMs / 1000) + 1);
    expect(result.value.sent).toBeGreaterThan(100);
    expect(perDevice.size).toBe(20);
    const counts = [...perDevice.values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(fleet.size).toBe(0);
  });

  it('keeps to its bounded time when the hub is slower than the asked rate, instead of sending the backlog', async () => {
    const sendMs = 5;
    const client: DeviceClientPort = {
      connect: async (deviceId): Promise<DeviceConnection> => ({
        deviceId,
        sendTelemetry: () => new Promise((resolve) => setTimeout(resolve, sendMs)),
        onCloudToDeviceMessage: () => undefined,
        reportProperties: async () => undefined,
        close: async () => undefined,
      }),
    };
    const fleet = new ThermostatFleet({ deviceClient: client });
    const durationMs = 200;
    const result = await runFleetLoad(fleet, { devices: 4, messagesPerSecond: 10_000, durationMs });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    // Each send takes at least sendMs and a device sends one at a time, so a run that stops at its deadline sends at most
    // (durationMs / sendMs + 1) per device (the last under way); one that sent its backlog would send thousands.
    expect(result.value.sent).toBeLessThanOrEqual(4 * (durationMs / sendMs + 1));
    expect(result.value.sent).toBeGreaterThan(0);
  });

  it('sends the readings due at once, as devices do, but never two of one device at a time', async () => {
    const inFlight = new Map<string, number>();
    let most = 0;
    let mostOfOneDevice = 0;
    const client: DeviceClientPort = {
      connect: async (deviceId): Promise<DeviceConnection> => ({
        deviceId,
        sendTelemetry: async () => {
          inFlight.set(deviceId, (inFlight.get(deviceId) ?? 0) + 1);
          most = Math.max(
            most,
            [...inFlight.values()].reduce((a, b) => a + b, 0),
          );
          mostOfOneDevice = Math.max(mostOfOneDevice, inFlight.get(deviceId)!);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight.set(deviceId, inFlight.get(deviceId)! - 1);
        },
        onCloudToDeviceMessage: () => undefined,
        reportProperties: async () => undefined,
        close: async () => undefined,
      }),
    };
    const fleet = new ThermostatFleet({ deviceClient: client });
    // 50,000 a second over 8 devices: each pace step has far more due than there are devices.
    const result = await runFleetLoad(fleet, { devices: 8, messagesPerSecond: 50_000, durationMs: 200 });
    expect(result.ok && result.value.sent).toBeGreaterThan(8);
    expect(most).toBe(8);
    expect(mostOfOneDevice).toBe(1);
  });

  it('refuses an unbounded or empty run, naming the option', async () => {
    const fleet = new ThermostatFleet({ deviceClient: countingClient().client });
    expect(await runFleetLoad(fleet, { devices: 0, messagesPerSecond: 1, durationMs: 1 })).toMatchObject({
      ok: false,
      error: { code: 'InvalidValue', path: 'devices' },
    });
    expect(await runFleetLoad(fleet, { devices: 1, messagesPerSecond: 1, durationMs: Infinity })).toMatchObject({
      ok: false,
      error: { code: 'InvalidValue', path: 'durationMs' },
    });
  });

  it('stops early when its signal aborts', async () => {
    const fleet = new ThermostatFleet({ deviceClient: countingClient().client });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const result = await runFleetLoad(fleet, { devices: 2, messagesPerSecond: 100, durationMs: 60_000, signal: abort.signal });
    expect(result.ok && result.value.elapsedMs).toBeLessThan(5_000);
  });
});
