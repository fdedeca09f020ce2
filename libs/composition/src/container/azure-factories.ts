import type { AdapterContext, AdapterFactories, Built, FactoryContext } from './port-adapters.js';
import type { DeviceClientPort, MessageQueuePort } from '@fieldlink/ports';

/** Loaded only when an Azure adapter is configured: the Azure SDKs are heavy, and the embedded default needs none of them. */
const azure = () => import('@fieldlink/adapter-azure');

// Connection strings are present here: the configuration refused to load without them (see requiredSettings).
const serviceBusQueue =
  (queue: 'alertsQueue' | 'outboundQueue') =>
  async ({ config }: AdapterContext): Promise<Built<MessageQueuePort>> => {
    const { ServiceBusQueue } = await azure();
    const q = new ServiceBusQueue({ auth: { connectionString: config.serviceBus.connectionString! }, queueName: config.serviceBus[queue], concurrency: config.serviceBus.maxConcurrentCalls });
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
  const registry = built instanceof IotHubRegistry ? built : new IotHubRegistry({ auth: { connectionString: config.iotHub.connectionString! } });
  const hostName = iotHubHostName(config);
  const connectionStringFor = async (deviceId: string): Promise<string> => {
    const connectionString = await registry.deviceConnectionString(deviceId, hostName);
    if (connectionString === undefined) throw new Error(`Device '${deviceId}' is not registered in the IoT hub ${hostName}, or has no symmetric key`);
    return connectionString;
  };
  return { port: new IotHubDeviceClient({ connectionStringFor, transport: config.iotHub.deviceTransport, log }) };
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
    'event-hubs': async ({ config, log }) => ({
      port: { intake: new (await azure()).EventHubsTelemetryIntake({ auth: { connectionString: config.eventHubs.connectionString! }, checkpoints: { auth: { connectionString: config.blob.connectionString! }, containerName: config.eventHubs.checkpointContainer }, log }) },
    }),
  },
  referenceData: {
    blob: async ({ config, log }) => {
      const { BlobReferenceData } = await azure();
      const data = new BlobReferenceData({ auth: { connectionString: config.blob.connectionString! }, containerName: config.blob.referenceDataContainer, refreshIntervalMs: config.blob.refreshIntervalMs, log });
      return { port: data, close: () => data.close() };
    },
  },
  ruleStateStore: {
    blob: async ({ config }) => ({ port: new (await azure()).BlobRuleStateStore({ auth: { connectionString: config.blob.connectionString! }, containerName: config.blob.ruleStateContainer }) }),
  },
  deviceClient: { 'iot-hub': iotHubDeviceClient },
  deviceRegistry: { 'iot-hub': async ({ config }) => ({ port: new (await azure()).IotHubRegistry({ auth: { connectionString: config.iotHub.connectionString! } }) }) },
  cloudToDevice: {
    'iot-hub': async ({ config, log }) => {
      const { IotHubCloudToDevice } = await azure();
      const c2d = new IotHubCloudToDevice({ auth: { connectionString: config.iotHub.connectionString! }, log });
      return { port: c2d, close: () => c2d.close() };
    },
  },
};
