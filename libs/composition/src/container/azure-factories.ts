import type { AdapterContext, AdapterFactories, Built } from './port-adapters.js';
import type { MessageQueuePort } from '@fieldlink/ports';

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

/**
 * The Azure adapters: Service Bus queues, telemetry from the IoT hub's Event Hubs-compatible
 * endpoint with Blob checkpoints, Blob reference data, the IoT Hub registry and cloud-to-device
 * sender. Not yet here: the simulated devices on IoT Hub (they need each device's own key) and
 * rule state in Blob storage; configuring them is refused at start, naming the port.
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
  deviceRegistry: { 'iot-hub': async ({ config }) => ({ port: new (await azure()).IotHubRegistry({ auth: { connectionString: config.iotHub.connectionString! } }) }) },
  cloudToDevice: {
    'iot-hub': async ({ config, log }) => {
      const { IotHubCloudToDevice } = await azure();
      const c2d = new IotHubCloudToDevice({ auth: { connectionString: config.iotHub.connectionString! }, log });
      return { port: c2d, close: () => c2d.close() };
    },
  },
};
