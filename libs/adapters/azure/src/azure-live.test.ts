import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe } from 'vitest';
import {
  cloudToDeviceConformance,
  deviceClientConformance,
  deviceRegistryConformance,
  messageQueueConformance,
  referenceDataConformance,
  telemetryIntakeConformance,
} from '@fieldlink/ports/testing';
import { BlobReferenceData, publishReferenceData } from './blob-reference-data.js';
import { EventHubsTelemetryIntake } from './event-hubs-telemetry-intake.js';
import { IotHubCloudToDevice } from './iot-hub-cloud-to-device.js';
import { IotHubDeviceClient } from './iot-hub-device-client.js';
import { IotHubRegistry } from './iot-hub-registry.js';
import { ServiceBusQueue } from './service-bus-queue.js';

/*
 * The same conformance suites as over the wire, against real Azure, when these are set:
 *   FIELDLINK_LIVE_SERVICEBUS_CONNECTION_STRING  a namespace policy with Send and Listen
 *   FIELDLINK_LIVE_SERVICEBUS_QUEUE              a queue made for this: lock duration 5 s,
 *                                                max delivery count 3, duplicate detection on
 *   FIELDLINK_LIVE_STORAGE_CONNECTION_STRING     a storage account (containers are made per run)
 *   FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING      the hub's iothubowner policy
 *   FIELDLINK_LIVE_EVENTHUB_CONNECTION_STRING    the hub's built-in Event Hubs-compatible endpoint
 *                                                (with EntityPath), policy "service"
 *   FIELDLINK_LIVE_CONSUMER_GROUPS               two consumer groups of it, default "rules,telemetry"
 * Unset, each part is reported as skipped (not passed). Real time passes: a lock expiry waits 5 s,
 * a lapsed cloud-to-device lock 60 s.
 */
const env = process.env;
const serviceBus = env['FIELDLINK_LIVE_SERVICEBUS_CONNECTION_STRING'];
const queueName = env['FIELDLINK_LIVE_SERVICEBUS_QUEUE'];
const storage = env['FIELDLINK_LIVE_STORAGE_CONNECTION_STRING'];
const iotHub = env['FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING'];
const eventHub = env['FIELDLINK_LIVE_EVENTHUB_CONNECTION_STRING'];
const [groupA = 'rules', groupB = 'telemetry'] = (env['FIELDLINK_LIVE_CONSUMER_GROUPS'] ?? '').split(',').filter((g) => g !== '');
const hostName = /HostName=([^;]+)/i.exec(iotHub ?? '')?.[1] ?? '';
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const skipped = (what: string, variables: string) => `${what} against real Azure (SKIPPED: set ${variables} to run it)`;

describe.skipIf(!serviceBus || !queueName)(skipped('Service Bus', 'FIELDLINK_LIVE_SERVICEBUS_CONNECTION_STRING and FIELDLINK_LIVE_SERVICEBUS_QUEUE'), () => {
  messageQueueConformance('ServiceBusQueue on Azure', async () => {
    // The suite holds the queue's own lock semantics (a lock lapses unless renewed): no automatic renewal here.
    const queue = new ServiceBusQueue({ auth: { connectionString: serviceBus! }, queueName: queueName!, maxAutoLockRenewalMs: 0 });
    // A shared queue: start from an empty one.
    for (
      let got = await queue.receive({ maxMessages: 100, maxWaitMs: 1_000 });
      got.length > 0;
      got = await queue.receive({ maxMessages: 100, maxWaitMs: 1_000 })
    ) {
      for (const m of got) await queue.complete(m);
    }
    return { queue, advanceTime: wait, dispose: () => queue.close() };
  });
});

describe.skipIf(!storage)(skipped('Blob reference data', 'FIELDLINK_LIVE_STORAGE_CONNECTION_STRING'), () => {
  referenceDataConformance('BlobReferenceData on Azure Storage', async (seed) => {
    const container = BlobServiceClient.fromConnectionString(storage!).getContainerClient(`fieldlink-live-${randomUUID().slice(0, 8)}`);
    await container.create();
    for (const snapshot of seed.snapshots) await publishReferenceData(container, snapshot);
    await publishReferenceData(container, { validFrom: Math.floor(Date.now() / 60_000) * 60_000, deviceTypes: seed.deviceTypes });
    const referenceData = new BlobReferenceData({ auth: { connectionString: storage! }, containerName: container.containerName, refreshIntervalMs: 0 });
    return {
      referenceData,
      dispose: async () => {
        await referenceData.close();
        await container.delete();
      },
    };
  });
});

describe.skipIf(!iotHub)(skipped('IoT Hub registry', 'FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING'), () => {
  deviceRegistryConformance('IotHubRegistry on Azure', async () => ({
    registry: new IotHubRegistry({ auth: { connectionString: iotHub! } }),
    dispose: async () => undefined,
  }));
});

describe.skipIf(!eventHub || !storage || !iotHub)(
  skipped(
    'Telemetry intake',
    'FIELDLINK_LIVE_EVENTHUB_CONNECTION_STRING, FIELDLINK_LIVE_STORAGE_CONNECTION_STRING and FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING',
  ),
  () => {
    telemetryIntakeConformance('EventHubsTelemetryIntake on Azure', async () => {
      const registry = new IotHubRegistry({ auth: { connectionString: iotHub! } });
      const devices = new IotHubDeviceClient({ connectionStringFor: async (id) => (await registry.deviceConnectionString(id, hostName)) ?? '' });
      return {
        intake: new EventHubsTelemetryIntake({
          auth: { connectionString: eventHub! },
          checkpoints: { auth: { connectionString: storage! }, containerName: `fieldlink-live-checkpoints-${randomUUID().slice(0, 8)}` },
          loadBalancing: { strategy: 'greedy', updateIntervalInMs: 2_000 },
        }),
        devices: {
          send: async (deviceId, body, properties) => {
            await registry.registerDevices([{ deviceId }]);
            const connection = await devices.connect(deviceId);
            await connection.sendTelemetry(body, properties);
            await connection.close();
          },
        },
        consumerGroups: [groupA, groupB],
        patienceMs: 60_000,
        dispose: async () => undefined,
      };
    });
  },
);

describe.skipIf(!iotHub || !eventHub || !storage)(
  skipped(
    'IoT Hub devices and cloud-to-device',
    'FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING, FIELDLINK_LIVE_EVENTHUB_CONNECTION_STRING and FIELDLINK_LIVE_STORAGE_CONNECTION_STRING',
  ),
  () => {
    const registry = () => new IotHubRegistry({ auth: { connectionString: iotHub! } });
    const connectionStringFor = async (id: string) =>
      (await registry().deviceConnectionString(id, hostName)) ??
      `HostName=${hostName};DeviceId=${id};SharedAccessKey=${Buffer.from(randomUUID()).toString('base64')}`;
    deviceClientConformance('IotHubDeviceClient over MQTT on Azure', async () => ({
      devices: new IotHubDeviceClient({ connectionStringFor }),
      registry: registry(),
      telemetry: new EventHubsTelemetryIntake({
        auth: { connectionString: eventHub! },
        checkpoints: { auth: { connectionString: storage! }, containerName: `fieldlink-live-checkpoints-${randomUUID().slice(0, 8)}` },
        loadBalancing: { strategy: 'greedy', updateIntervalInMs: 2_000 },
      }),
      consumerGroup: groupB,
      patienceMs: 60_000,
      dispose: async () => undefined,
    }));
    cloudToDeviceConformance('IotHubCloudToDevice on Azure, devices on AMQP', async () => {
      const cloudToDevice = new IotHubCloudToDevice({ auth: { connectionString: iotHub! } });
      return {
        cloudToDevice,
        devices: new IotHubDeviceClient({ connectionStringFor, transport: 'amqp' }),
        registerDevice: async (deviceId) => void (await registry().registerDevices([{ deviceId }])),
        maxDeliveryCount: 10,
        deviceLockTimeoutMs: 60_000,
        patienceMs: 60_000,
        advanceTime: wait,
        dispose: () => cloudToDevice.close(),
      };
    });
  },
);

const missing = [
  ['FIELDLINK_LIVE_SERVICEBUS_CONNECTION_STRING', serviceBus],
  ['FIELDLINK_LIVE_SERVICEBUS_QUEUE', queueName],
  ['FIELDLINK_LIVE_STORAGE_CONNECTION_STRING', storage],
  ['FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING', iotHub],
  ['FIELDLINK_LIVE_EVENTHUB_CONNECTION_STRING', eventHub],
].filter(([, value]) => !value);
if (missing.length > 0)
  console.warn(
    `Live Azure suite: parts SKIPPED (not passed) because ${missing.map(([name]) => name).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set.`,
  );
