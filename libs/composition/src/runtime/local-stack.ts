import { err, ok, RegistrationStatus, type Result } from '@fieldlink/domain';
import type { DeviceRegistrations } from '@fieldlink/flows';
import { TOKENS, type CrmGatewayPort, type DeviceClientPort } from '@fieldlink/ports';
import { ThermostatFleet } from '@fieldlink/ui-thermostat-simulator';
import type { Container } from 'inversify';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { ConfigIssue } from '../config/load-config.js';
import { APP_TOKENS } from '../container/app-tokens.js';
import type { EventFeed } from '../log/event-feed.js';
import { createCombinedRuntime } from './create-runtimes.js';
import type { FieldlinkRuntime, RuntimeOptions, RuntimePart } from './fieldlink-runtime.js';

export const LOCAL_CUSTOMER_ASSET_ID = 'local-asset-1';

/** The simulated thermostats of the local stack: `thermostat-1` … `thermostat-N`, the first `drifting` of them failing upwards. */
export const simulatedDeviceIds = (config: FieldlinkConfig): string[] => Array.from({ length: config.simulator.devices }, (_, i) => `thermostat-${i + 1}`);

/**
 * Everything in one process (`fieldlink up`): the stream processor and the orchestrator over one
 * set of adapters (shared in-memory ones on the embedded default), and a simulated fleet whose
 * thermostats are registered through the registration flow and then connect as devices.
 */
export class LocalStack {
  constructor(
    readonly runtime: FieldlinkRuntime,
    readonly fleet: ThermostatFleet,
  ) {}

  get feed(): EventFeed {
    return this.runtime.feed;
  }

  get container(): Container {
    return this.runtime.container;
  }

  get<T>(token: symbol): T {
    return this.runtime.get<T>(token);
  }

  start(): Promise<void> {
    return this.runtime.start();
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }
}

export interface LocalStackOptions extends RuntimeOptions {
  /** Do not send readings on a timer (tests drive `fleet.tick()` themselves). */
  readonly manualFleet?: boolean;
}

export async function createLocalStack(config: FieldlinkConfig, options: LocalStackOptions = {}): Promise<Result<LocalStack, ConfigIssue[]>> {
  const holder: { fleet?: ThermostatFleet } = {};
  const runtime = await createCombinedRuntime(config, options, (container) => [fleetPart(container, config, holder, options.manualFleet === true)]);
  if (!runtime.ok) return runtime;
  if (holder.fleet === undefined) return err([{ path: 'ports.deviceClient', message: 'no device client: the simulated fleet cannot connect' }]);
  return ok(new LocalStack(runtime.value, holder.fleet));
}

function fleetPart(container: Container, config: FieldlinkConfig, holder: { fleet?: ThermostatFleet }, manual: boolean): RuntimePart {
  const feed = container.get<EventFeed>(APP_TOKENS.EventFeed);
  const fleet = new ThermostatFleet({
    deviceClient: container.get<DeviceClientPort>(TOKENS.DeviceClient),
    intervalMs: config.simulator.intervalMs,
    heartbeatIntervalMs: config.simulator.heartbeatIntervalMs,
    log: feed,
  });
  holder.fleet = fleet;
  return {
    name: 'simulated-fleet',
    start: async () => {
      await registerSimulatedDevices(container, config);
      const { drifting, driftPerMinute } = config.simulator;
      for (const [i, deviceId] of simulatedDeviceIds(config).entries()) {
        const added = await fleet.addDevice(deviceId, i < drifting ? { temperature: 68, target: 62, driftPerMinute } : { temperature: 60 + (i % 5), humidity: 40 + (i % 7), target: 60 + (i % 5) });
        if (!added.ok) feed.error('device.add-failed', { deviceId, error: added.error });
      }
      if (!manual) fleet.start();
    },
    stop: async () => fleet.close(),
  };
}

/** Puts each simulated thermostat in the CRM (with a customer asset) and registers it in the hub through the registration flow. */
async function registerSimulatedDevices(container: Container, config: FieldlinkConfig): Promise<void> {
  if (!container.isBound(APP_TOKENS.DeviceRegistrations)) return;
  const crm = container.get<CrmGatewayPort>(TOKENS.CrmGateway);
  await crm.upsertCustomerAsset({ customerAssetId: LOCAL_CUSTOMER_ASSET_ID, name: 'Contoso HQ, floor 3' });
  const devices = simulatedDeviceIds(config).map((deviceId) => ({ deviceRecordId: `${deviceId}-record`, deviceId }));
  for (const d of devices) {
    if ((await crm.getDevice(d.deviceRecordId)) !== undefined) continue;
    await crm.upsertDevice({ ...d, name: d.deviceId, deviceType: config.rules.defaultDeviceType, customerAssetId: LOCAL_CUSTOMER_ASSET_ID, registrationStatus: RegistrationStatus.Unregistered });
  }
  await container.get<DeviceRegistrations>(APP_TOKENS.DeviceRegistrations).register(devices, 'local-stack');
}
