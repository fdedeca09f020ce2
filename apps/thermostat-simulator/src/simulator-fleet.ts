import { assemble, type FieldlinkConfig, type RuntimeOptions, type ConfigIssue } from '@fieldlink/composition';
import type { Result } from '@fieldlink/domain';
import { TOKENS, type DeviceClientPort, type DeviceRegistryPort } from '@fieldlink/ports';
import { ThermostatFleet } from '@fieldlink/ui-thermostat-simulator';

export interface SimulatorFleet {
  readonly fleet: ThermostatFleet;
  /**
   * Registers devices in the hub so they may connect: on the in-memory hub, which lives in this
   * process, and on the SQLite hub of a data directory, which this process shares with the others
   * (the simulator provisions its own devices there); a real hub's devices are registered by the
   * orchestrator (the console's Register).
   */
  registerDevices(deviceIds: readonly string[]): Promise<void>;
  /** Closes the fleet's connections, then the adapters. */
  close(): Promise<void>;
}

/**
 * The device side only: a fleet on the configured device client port (the in-memory hub, or a
 * real IoT hub over MQTT), nothing of the cloud side. `devices` thermostats are added at once.
 */
export async function createSimulatorFleet(config: FieldlinkConfig, devices: number, options: RuntimeOptions = {}): Promise<Result<SimulatorFleet, ConfigIssue[]>> {
  const ownsRegistry = config.ports.deviceClient === 'in-memory' || config.ports.deviceClient === 'sqlite';
  const assembled = await assemble(config, ownsRegistry ? ['deviceClient', 'deviceRegistry'] : ['deviceClient'], options);
  if (!assembled.ok) return assembled;
  const { container, adapters, feed } = assembled.value;
  const registerDevices = async (deviceIds: readonly string[]): Promise<void> => {
    if (!ownsRegistry) return;
    const results = await container.get<DeviceRegistryPort>(TOKENS.DeviceRegistry).registerDevices(deviceIds.map((deviceId) => ({ deviceId })));
    for (const r of results) if (!r.ok) feed.error('device.registration-failed', { deviceId: r.deviceId, error: r.error });
  };
  await registerDevices(Array.from({ length: devices }, (_, i) => `thermostat-${i + 1}`));
  const fleet = new ThermostatFleet({
    deviceClient: container.get<DeviceClientPort>(TOKENS.DeviceClient),
    intervalMs: config.simulator.intervalMs,
    heartbeatIntervalMs: config.simulator.heartbeatIntervalMs,
    log: feed,
  });
  for (let i = 1; i <= devices; i++) {
    const drifting = i <= config.simulator.drifting;
    const added = await fleet.addDevice(`thermostat-${i}`, drifting ? { temperature: 68, target: 62, driftPerMinute: config.simulator.driftPerMinute } : { temperature: 60 + (i % 5), humidity: 40 + (i % 7), target: 60 + (i % 5) });
    if (!added.ok) feed.error('device.add-failed', { deviceId: `thermostat-${i}`, error: added.error });
  }
  return {
    ok: true,
    value: {
      fleet,
      registerDevices,
      close: async () => {
        await fleet.close();
        await adapters.close();
      },
    },
  };
}
