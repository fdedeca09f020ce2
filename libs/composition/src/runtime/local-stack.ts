import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { codedError, err, ok, RegistrationStatus, type Result } from '@fieldlink/domain';
import { nameBasedGuid } from '@fieldlink/flows';
import { TOKENS, type CrmGatewayPort, type LogPort, type Token } from '@fieldlink/ports';
import { InMemoryReferenceData } from '@fieldlink/adapter-in-memory';
import { describeFleetError, SensorFleet, ThermostatFleet, type DevicePreparationError } from '@fieldlink/ui-thermostat-simulator';
import type { Container } from 'inversify';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { ConfigIssue } from '../config/load-config.js';
import type { ConfiguredDeviceType } from '../config/device-types-document.js';
import { APP_TOKENS } from '../container/app-tokens.js';
import { crmAnnouncesOnOutboundQueue } from '../container/fieldlink-container.js';
import { resolveToken } from '../container/typed-bindings.js';
import type { EventFeed } from '../log/event-feed.js';
import { createCombinedRuntime } from './create-runtimes.js';
import type { FieldlinkRuntime, RuntimeOptions, RuntimePart } from './fieldlink-runtime.js';

/** Each simulated thermostat has its own customer asset: a stock organisation links an asset to one device, by the asset's msdyn_deviceid. */
export const localCustomerAssetId = (deviceId: string): string => `local-asset-${deviceId}`;

/**
 * The CRM record ids of the local stack: readable names in the in-memory CRM; on Dataverse, whose
 * record ids are GUIDs, name-based GUIDs of the same names, so every run finds the same records.
 */
export const localRecordIds = (config: FieldlinkConfig): { customerAssetId(deviceId: string): string; deviceRecordId(deviceId: string): string } => {
  const guids = config.ports.crm !== 'in-memory';
  return {
    customerAssetId: (deviceId) => (guids ? nameBasedGuid('local-stack', 'customer-asset', localCustomerAssetId(deviceId)) : localCustomerAssetId(deviceId)),
    deviceRecordId: (deviceId) => (guids ? nameBasedGuid('local-stack', 'device', deviceId) : `${deviceId}-record`),
  };
};

/** The simulated thermostats of the local stack: `thermostat-1` … `thermostat-N`, the first `drifting` of them failing upwards. */
export const simulatedDeviceIds = (config: FieldlinkConfig): string[] => Array.from({ length: config.simulator.devices }, (_, i) => `thermostat-${i + 1}`);

/** The simulated devices of `simulator.sensors`: `<device type in lower case>-1` … `-N`, the first `drifting` of them climbing over their thresholds. */
export const simulatedSensorIds = (config: FieldlinkConfig): string[] => {
  const { deviceType, devices } = config.simulator.sensors;
  return deviceType === undefined ? [] : Array.from({ length: devices }, (_, i) => `${deviceType.toLowerCase()}-${i + 1}`);
};

/**
 * Everything in one process (`fieldlink up`): the stream processor and the orchestrator over one
 * set of adapters (shared in-memory ones on the embedded default), and a simulated fleet whose
 * thermostats are registered through the registration flow and then connect as devices.
 */
export class LocalStack {
  constructor(
    readonly runtime: FieldlinkRuntime,
    readonly fleet: ThermostatFleet,
    /** The simulated devices of another device type (`simulator.sensors`), when configured. */
    readonly sensors?: SensorFleet,
  ) {}

  get feed(): EventFeed {
    return this.runtime.feed;
  }

  get container(): Container {
    return this.runtime.container;
  }

  /** What `token` is bound to, of the token's type. */
  get<T>(token: Token<T>): T {
    return this.runtime.get(token);
  }

  start(onPart?: (name: string) => void): Promise<void> {
    return this.runtime.start(onPart);
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }

  /**
   * A thermostat added later (the simulator page's "Add a thermostat"), set up as the fleet's
   * others are: its device record in the CRM, then registered in the hub through the same flow,
   * so it may connect. Refused, with the reason, when the registration does not end Registered.
   */
  async registerDevice(deviceId: string): Promise<Result<void, DevicePreparationError>> {
    const config = this.runtime.config;
    if (!this.container.isBound(APP_TOKENS.DeviceRegistrations))
      return err(codedError('RegistrationUnavailable', 'this process has no device registration: the device cannot be registered'));
    await registerSimulatedDevices(this.container, config, [deviceId], config.rules.defaultDeviceType);
    const device = await this.get<CrmGatewayPort>(TOKENS.CrmGateway).getDevice(localRecordIds(config).deviceRecordId(deviceId));
    if (device?.registrationStatus === RegistrationStatus.Registered) return ok(undefined);
    if (device?.registrationStatus === RegistrationStatus.Error)
      return err(
        codedError('RegistrationRefused', `the hub refused to register it${device.registrationMessage === undefined ? '' : `: ${device.registrationMessage}`}`),
      );
    return err(
      codedError('RegistrationPending', `its registration has not completed (status ${device?.registrationStatus ?? 'unknown'}); it cannot connect yet`),
    );
  }
}

export interface LocalStackOptions extends RuntimeOptions {
  /** Do not send readings on a timer (tests drive `fleet.tick()` themselves). */
  readonly manualFleet?: boolean;
}

export async function createLocalStack(config: FieldlinkConfig, options: LocalStackOptions = {}): Promise<Result<LocalStack, ConfigIssue[]>> {
  const holder: { fleet?: ThermostatFleet; sensors?: SensorFleet } = {};
  let sensorType: ConfiguredDeviceType | undefined;
  const runtime = await createCombinedRuntime(config, options, (container) => {
    const { deviceType, devices } = config.simulator.sensors;
    sensorType = deviceType === undefined ? undefined : resolveToken(container, APP_TOKENS.DeviceTypes).types.find((t) => t.definition.name === deviceType);
    return [
      fleetPart(container, config, holder, options.manualFleet === true),
      ...(sensorType !== undefined && devices > 0 ? [sensorsPart(container, config, sensorType, holder, options.manualFleet === true)] : []),
    ];
  });
  if (!runtime.ok) return runtime;
  const { deviceType, devices } = config.simulator.sensors;
  if (devices > 0 && sensorType === undefined) {
    await runtime.value.stop();
    return err([
      {
        path: 'simulator.sensors.deviceType',
        message: deviceType === undefined ? 'required when simulator.sensors.devices is above 0' : `"${deviceType}" is not a device type of deviceTypes.file`,
      },
    ]);
  }
  if (holder.fleet === undefined) return err([{ path: 'ports.deviceClient', message: 'no device client: the simulated fleet cannot connect' }]);
  return ok(new LocalStack(runtime.value, holder.fleet, holder.sensors));
}

function sensorsPart(
  container: Container,
  config: FieldlinkConfig,
  type: ConfiguredDeviceType,
  holder: { sensors?: SensorFleet },
  manual: boolean,
): RuntimePart {
  const feed = resolveToken(container, APP_TOKENS.EventFeed);
  const simulation = Object.fromEntries(
    type.readings.map((r) => [r.name, { normal: r.simulation?.normal ?? r.min, driftPerMinute: r.simulation?.driftPerMinute ?? 0 }]),
  );
  const sensors = new SensorFleet({
    deviceClient: resolveToken(container, TOKENS.DeviceClient),
    deviceType: type.definition,
    simulation,
    intervalMs: config.simulator.intervalMs,
    log: feed,
  });
  holder.sensors = sensors;
  return {
    name: 'simulated-sensors',
    start: async () => {
      const ids = simulatedSensorIds(config);
      await registerSimulatedDevices(container, config, ids, type.definition.name);
      for (const [i, deviceId] of ids.entries()) {
        const added = await sensors.addDevice(deviceId, i < config.simulator.sensors.drifting);
        if (!added.ok) feed.error('device.add-failed', { deviceId, error: describeFleetError(added.error) });
      }
      if (!manual) sensors.start();
    },
    stop: async () => sensors.close(),
  };
}

function fleetPart(container: Container, config: FieldlinkConfig, holder: { fleet?: ThermostatFleet }, manual: boolean): RuntimePart {
  const feed = resolveToken(container, APP_TOKENS.EventFeed);
  const fleet = new ThermostatFleet({
    deviceClient: resolveToken(container, TOKENS.DeviceClient),
    intervalMs: config.simulator.intervalMs,
    heartbeatIntervalMs: config.simulator.heartbeatIntervalMs,
    log: feed,
  });
  holder.fleet = fleet;
  return {
    name: 'simulated-fleet',
    start: async () => {
      await registerSimulatedDevices(container, config, simulatedDeviceIds(config), config.rules.defaultDeviceType);
      const { drifting, driftPerMinute } = config.simulator;
      for (const [i, deviceId] of simulatedDeviceIds(config).entries()) {
        const added = await fleet.addDevice(
          deviceId,
          i < drifting ? { temperature: 68, target: 62, driftPerMinute } : { temperature: 60 + (i % 5), humidity: 40 + (i % 7), target: 60 + (i % 5) },
        );
        if (!added.ok) feed.error('device.add-failed', { deviceId, error: describeFleetError(added.error) });
      }
      if (!manual) fleet.start();
    },
    stop: async () => fleet.close(),
  };
}

/** How long the fleet waits for the CRM's registration request to come back through the outbound queue. */
const REGISTRATION_WAIT_MS = 30_000;

/**
 * Puts each simulated thermostat in the CRM (with a customer asset) and registers it in the hub.
 * A CRM with a service endpoint is asked as CFS asks it (`msdyn_RegisterIoTDevice`), and the
 * request comes back through the outbound queue to the registration flow; the fleet connects once
 * every device has its result. The in-memory CRM has no service endpoint: the flow is called here.
 */
async function registerSimulatedDevices(container: Container, config: FieldlinkConfig, deviceIds: readonly string[], deviceType: string): Promise<void> {
  // The stream processor's device metadata: which rules apply to each device (in memory; blob reference data is the deployment's own).
  const referenceData = container.isBound(TOKENS.ReferenceData) ? resolveToken(container, TOKENS.ReferenceData) : undefined;
  if (referenceData instanceof InMemoryReferenceData) for (const deviceId of deviceIds) referenceData.setDeviceType(deviceId, deviceType);
  if (!container.isBound(APP_TOKENS.DeviceRegistrations)) return;
  const crm = resolveToken(container, TOKENS.CrmGateway);
  const ids = localRecordIds(config);
  const devices = deviceIds.map((deviceId) => ({ deviceRecordId: ids.deviceRecordId(deviceId), deviceId }));
  for (const d of devices) {
    if ((await crm.getDevice(d.deviceRecordId)) !== undefined) continue;
    await crm.upsertCustomerAsset({ customerAssetId: ids.customerAssetId(d.deviceId), name: `Contoso HQ, floor 3: ${d.deviceId}` });
    await crm.upsertDevice({
      ...d,
      name: d.deviceId,
      deviceType,
      customerAssetId: ids.customerAssetId(d.deviceId),
      registrationStatus: RegistrationStatus.Unregistered,
    });
  }
  if (crmAnnouncesOnOutboundQueue(config) && crm instanceof DynamicsCrmGateway && container.isBound(APP_TOKENS.OutboundProcessor)) {
    if (devices.length === 0) return;
    await crm.registerDevices(devices.map((d) => d.deviceRecordId));
    await untilRegistered(
      crm,
      devices.map((d) => d.deviceRecordId),
      resolveToken(container, TOKENS.Log),
    );
    return;
  }
  const registered = await resolveToken(container, APP_TOKENS.DeviceRegistrations).register(devices, 'local-stack');
  // Each record was put in the CRM just above: one missing is a bug, and the stack does not start.
  if (!registered.ok) throw new Error(`registering the simulated devices: ${registered.error.message}`);
}

async function untilRegistered(crm: CrmGatewayPort, deviceRecordIds: readonly string[], log: LogPort): Promise<void> {
  const waiting = new Set(deviceRecordIds);
  const until = Date.now() + REGISTRATION_WAIT_MS;
  while (waiting.size > 0) {
    for (const device of await crm.listDevices()) {
      if (device.registrationStatus === RegistrationStatus.Registered || device.registrationStatus === RegistrationStatus.Error)
        waiting.delete(device.deviceRecordId);
    }
    if (waiting.size === 0) return;
    if (Date.now() > until) {
      log.warn('device.registration-pending', {
        devices: waiting.size,
        waitedMs: REGISTRATION_WAIT_MS,
        message: 'the CRM\u2019s registration request has not come back through the outbound queue; devices not registered yet cannot connect',
      });
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
