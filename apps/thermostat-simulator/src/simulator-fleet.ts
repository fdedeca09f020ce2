import { assemble, resolveToken, type FieldlinkConfig, type RuntimeOptions, type ConfigIssue } from '@fieldlink/composition';
import { backoffDelay, type BackoffPolicy, type Result } from '@fieldlink/domain';
import { sleep } from '@fieldlink/flows';
import { TOKENS, type DeviceClientPort, type DeviceRegistryPort, type LogPort } from '@fieldlink/ports';
import { describeFleetError, ThermostatFleet } from '@fieldlink/ui-thermostat-simulator';

export interface SimulatorFleet {
  readonly fleet: ThermostatFleet;
  /** The device client the fleet connects through (e.g. for a device outside the fleet that sends what a script says). */
  readonly deviceClient: DeviceClientPort;
  /**
   * Registers devices in the hub so they may connect (a device that exists is enabled again):
   * the in-memory hub of this process, the SQLite hub of a data directory (which this process
   * shares with the others), or the IoT hub's identity registry. A registration that fails is
   * retried with back-off until it works or the fleet closes.
   */
  registerDevices(deviceIds: readonly string[]): Promise<void>;
  /** Closes the fleet's connections, then the adapters. */
  close(): Promise<void>;
}

export interface SimulatorFleetOptions extends RuntimeOptions {
  /** Waits between two tries to register, or to connect a device whose connection was refused or lost. */
  readonly retry?: BackoffPolicy;
  /** How often the fleet looks for devices to connect again. */
  readonly superviseEveryMs?: number;
  /** The start of every device id: `<idPrefix>1` … (`thermostat-` by default). */
  readonly idPrefix?: string;
}

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };

/**
 * The device side only: a fleet on the configured device client port (the in-memory hub, or a
 * real IoT hub over MQTT or AMQP), nothing of the cloud side. `devices` thermostats are
 * registered and added at once. A device whose connection is refused or lost is connected
 * again on its own, after a wait that grows with each failure (with jitter), so a hub that
 * restarts or drops connections gets its devices back.
 */
export async function createSimulatorFleet(
  config: FieldlinkConfig,
  devices: number,
  options: SimulatorFleetOptions = {},
): Promise<Result<SimulatorFleet, ConfigIssue[]>> {
  const assembled = await assemble(config, ['deviceClient', 'deviceRegistry'], options);
  if (!assembled.ok) return assembled;
  const { container, adapters, feed } = assembled.value;
  const retry = options.retry ?? DEFAULT_RETRY;
  const abort = new AbortController();
  const registry = resolveToken(container, TOKENS.DeviceRegistry);
  const registerDevices = (deviceIds: readonly string[]): Promise<void> => registerWithRetry(registry, deviceIds, retry, feed, abort.signal);
  const prefix = options.idPrefix ?? 'thermostat-';
  await registerDevices(Array.from({ length: devices }, (_, i) => `${prefix}${i + 1}`));
  const deviceClient = resolveToken(container, TOKENS.DeviceClient);
  const fleet = new ThermostatFleet({
    deviceClient,
    intervalMs: config.simulator.intervalMs,
    heartbeatIntervalMs: config.simulator.heartbeatIntervalMs,
    log: feed,
  });
  for (let i = 1; i <= devices; i++) {
    const drifting = i <= config.simulator.drifting;
    const added = await fleet.addDevice(
      `${prefix}${i}`,
      drifting
        ? { temperature: 68, target: 62, driftPerMinute: config.simulator.driftPerMinute }
        : { temperature: 60 + (i % 5), humidity: 40 + (i % 7), target: 60 + (i % 5) },
    );
    if (!added.ok) feed.error('device.add-failed', { deviceId: `${prefix}${i}`, error: describeFleetError(added.error) });
  }
  const supervisor = superviseConnections(fleet, retry, options.superviseEveryMs ?? 250, feed, abort.signal);
  return {
    ok: true,
    value: {
      fleet,
      deviceClient,
      registerDevices,
      close: async () => {
        abort.abort();
        await supervisor;
        await fleet.close();
        await adapters.close();
      },
    },
  };
}

async function registerWithRetry(
  registry: DeviceRegistryPort,
  deviceIds: readonly string[],
  retry: BackoffPolicy,
  log: LogPort,
  signal: AbortSignal,
): Promise<void> {
  let pending = [...deviceIds];
  for (let attempt = 0; pending.length > 0 && !signal.aborted; attempt++) {
    let failed: Array<{ deviceId: string; error: string }>;
    try {
      const results = await registry.registerDevices(pending.map((deviceId) => ({ deviceId })));
      failed = results.flatMap((r) => (r.ok ? [] : [{ deviceId: r.deviceId, error: `${r.error.code}: ${r.error.message}` }]));
    } catch (e) {
      failed = pending.map((deviceId) => ({ deviceId, error: (e as Error).message }));
    }
    if (failed.length === 0) {
      log.info('device.registered', { devices: pending.length });
      return;
    }
    const waitMs = backoffDelay(retry, attempt, Math.random);
    for (const f of failed.slice(0, 3))
      log.warn('device.registration-failed', { deviceId: f.deviceId, error: f.error, failed: failed.length, retryInMs: waitMs });
    pending = failed.map((f) => f.deviceId);
    await sleep(waitMs, signal);
  }
}

/** Connects again every device whose connection failed or was closed under it, each after its own growing wait. */
async function superviseConnections(fleet: ThermostatFleet, retry: BackoffPolicy, everyMs: number, log: LogPort, signal: AbortSignal): Promise<void> {
  const failures = new Map<string, { attempts: number; nextAt: number }>();
  while (!signal.aborted) {
    await sleep(everyMs, signal);
    const now = Date.now();
    for (const device of fleet.list()) {
      if (signal.aborted) return;
      if (device.connection === 'connected') {
        failures.delete(device.deviceId);
        continue;
      }
      if (device.connection !== 'failed' && device.connection !== 'disconnected') continue;
      const state = failures.get(device.deviceId) ?? { attempts: 0, nextAt: 0 };
      if (now < state.nextAt) continue;
      const reconnected = await fleet.reconnect(device.deviceId);
      if (reconnected.ok && reconnected.value.connection === 'connected') {
        log.info('device.reconnected', { deviceId: device.deviceId, attempts: state.attempts + 1 });
        failures.delete(device.deviceId);
        continue;
      }
      const waitMs = backoffDelay(retry, state.attempts, Math.random);
      failures.set(device.deviceId, { attempts: state.attempts + 1, nextAt: Date.now() + waitMs });
    }
  }
}
