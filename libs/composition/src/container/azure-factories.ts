import type { AdapterContext, AdapterFactories, Built, FactoryContext } from './port-adapters.js';
import { DeviceRegistryError, type DeviceClientPort, type MessageQueuePort } from '@fieldlink/ports';

import { readFileSync } from 'node:fs';

/** Loaded only when an Azure adapter is configured: the Azure SDKs are heavy, and the embedded default needs none of them. */
const azure = () => import('@fieldlink/adapter-azure');

/**
 * How the stream processors share the hub's partitions. The SDK's default (`balanced`, one
 * partition claimed per 10 s cycle, ownership lapsing after 60 s) left partitions unread for the
 * first 30 s after a start and for a minute after a crash: the first alert came 25 s after its
 * reading. `greedy` claims a fair share in one cycle; a 2 s cycle and 20 s expiry bound how long a
 * partition goes unread when its owner dies.
 */
export const EVENT_HUBS_LOAD_BALANCING = { strategy: 'greedy', updateIntervalInMs: 2_000, partitionOwnershipExpirationIntervalInMs: 20_000 } as const;

/**
 * `tls.caFile`, read once and trusted by every TLS connection of this process that names no CA
 * of its own (the Azure SDKs: some take no CA option); undefined when unset.
 */
async function privateCa(config: AdapterContext['config']): Promise<string | undefined> {
  const file = config.tls.caFile;
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`tls.caFile: cannot read '${file}': ${(e as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`tls.caFile: '${file}' holds no PEM certificate`);
  (await azure()).trustCertificateAuthorities(pem);
  return pem;
}

/** The registry on the hub of the configuration: its REST calls through an agent that reaches a `host:port` hub and trusts `tls.caFile`. */
async function iotHubRegistry(config: AdapterContext['config']) {
  const { IotHubRegistry, hubHttpsAgent } = await azure();
  const ca = await privateCa(config);
  return new IotHubRegistry({ auth: { connectionString: config.iotHub.connectionString! }, httpsAgent: hubHttpsAgent(ca === undefined ? {} : { ca }) });
}

// Connection strings are present here: the configuration refused to load without them (see requiredSettings).
const serviceBusQueue =
  (queue: 'alertsQueue' | 'outboundQueue') =>
  async ({ config, log }: AdapterContext): Promise<Built<MessageQueuePort>> => {
    const { ServiceBusQueue } = await azure();
    await privateCa(config);
    const q = new ServiceBusQueue({
      auth: { connectionString: config.serviceBus.connectionString! },
      queueName: config.serviceBus[queue],
      concurrency: config.serviceBus.maxConcurrentCalls,
      retry: { timeoutInMs: config.serviceBus.operationTimeoutMs, retryDelayInMs: config.serviceBus.retryDelayMs },
      maxAutoLockRenewalMs: config.serviceBus.maxAutoLockRenewalMs,
      log,
    });
    return { port: q, close: () => q.close() };
  };

/** The hub's host name: `iotHub.hostName`, else the `HostName` of the service connection string. */
export function iotHubHostName(config: AdapterContext['config']): string {
  const fromConnectionString = /(?:^|;)\s*HostName=([^;]+)/i.exec(config.iotHub.connectionString ?? '')?.[1]?.trim();
  const hostName = config.iotHub.hostName ?? fromConnectionString;
  if (hostName === undefined) throw new Error('iotHub.hostName is not set and the IoT hub connection string names no HostName');
  return hostName;
}

/**
 * Simulated devices on IoT Hub connect as themselves, with their own keys: each device's
 * connection string is built from its primary key in the registry (the registry port's own
 * IotHubRegistry when it is on IoT Hub too, else one made for this).
 */
const iotHubDeviceClient = async ({ config, log, builtPort }: FactoryContext): Promise<Built<DeviceClientPort>> => {
  const { IotHubDeviceClient, IotHubRegistry } = await azure();
  const built = builtPort('deviceRegistry');
  const registry = built instanceof IotHubRegistry ? built : await iotHubRegistry(config);
  const ca = await privateCa(config);
  const hostName = iotHubHostName(config);
  const connectionStringFor = async (deviceId: string): Promise<string> => {
    const connectionString = await registry.deviceConnectionString(deviceId, hostName);
    if (connectionString === undefined)
      throw new DeviceRegistryError('DeviceNotFound', `Device '${deviceId}' is not registered in the IoT hub ${hostName}, or has no symmetric key`);
    return connectionString;
  };
  return { port: new IotHubDeviceClient({ connectionStringFor, transport: config.iotHub.deviceTransport, log, ...(ca === undefined ? {} : { ca }) }) };
};

/**
 * The Azure adapters: Service Bus queues, telemetry from the IoT hub's Event Hubs-compatible
 * endpoint with Blob checkpoints, Blob reference data and rule state, the IoT Hub registry,
 * cloud-to-device sender and the simulated devices' client.
 */
export const AZURE_FACTORIES: AdapterFactories = {
  alertsQueue: { 'service-bus': serviceBusQueue('alertsQueue') },
  outboundQueue: { 'service-bus': serviceBusQueue('outboundQueue') },
  telemetry: {
    'event-hubs': async ({ config, log }) => {
      const { EventHubsTelemetryIntake } = await azure();
      await privateCa(config);
      const intake = new EventHubsTelemetryIntake({
        auth: { connectionString: config.eventHubs.connectionString! },
        checkpoints: { auth: { connectionString: config.blob.connectionString! }, containerName: config.eventHubs.checkpointContainer },
        loadBalancing: EVENT_HUBS_LOAD_BALANCING,
        log,
      });
      return { port: { intake } };
    },
  },
  referenceData: {
    blob: async ({ config, log }) => {
      const { BlobReferenceData } = await azure();
      await privateCa(config);
      const data = new BlobReferenceData({
        auth: { connectionString: config.blob.connectionString! },
        containerName: config.blob.referenceDataContainer,
        refreshIntervalMs: config.blob.refreshIntervalMs,
        log,
      });
      return { port: data, close: () => data.close() };
    },
  },
  ruleStateStore: {
    blob: async ({ config }) => {
      const { BlobRuleStateStore } = await azure();
      await privateCa(config);
      return { port: new BlobRuleStateStore({ auth: { connectionString: config.blob.connectionString! }, containerName: config.blob.ruleStateContainer }) };
    },
  },
  deviceClient: { 'iot-hub': iotHubDeviceClient },
  deviceRegistry: { 'iot-hub': async ({ config }) => ({ port: await iotHubRegistry(config) }) },
  cloudToDevice: {
    'iot-hub': async ({ config, log }) => {
      const { IotHubCloudToDevice } = await azure();
      await privateCa(config);
      const c2d = new IotHubCloudToDevice({ auth: { connectionString: config.iotHub.connectionString! }, log });
      return { port: c2d, close: () => c2d.close() };
    },
  },
};
