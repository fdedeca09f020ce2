import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHubsTelemetryIntake } from './event-hubs-telemetry-intake.js';
import { IotHubCloudToDevice } from './iot-hub-cloud-to-device.js';
import { IotHubDeviceClient } from './iot-hub-device-client.js';
import { IotHubRegistry } from './iot-hub-registry.js';
import type { DeliveryFeedback } from '@fieldlink/ports';
import { deviceClientConformance, eventually, uniqueDeviceId, utf8 } from '@fieldlink/ports/testing';
import {
  EventHubsStandin,
  startAzurite,
  type RunningAzurite,
  hostPortAgent,
  IotHubStandin,
  type LoopbackCertificate,
  trustedLoopbackCertificate,
} from '@fieldlink/azure-standins';

let certificate: LoopbackCertificate;
let azurite: RunningAzurite;
const eventHubs = new EventHubsStandin();
const hubName = `hub-${randomUUID().slice(0, 8)}`;
let hub: IotHubStandin;

beforeAll(async () => {
  certificate = await trustedLoopbackCertificate();
  [azurite] = await Promise.all([startAzurite(), eventHubs.start()]);
  eventHubs.createHub(hubName, { partitionCount: 2 });
  hub = await new IotHubStandin(certificate, {
    telemetry: (deviceId, body, properties) => void eventHubs.appendFromDevice(hubName, deviceId, body, properties),
  }).start();
});
afterAll(async () => {
  await hub?.stop();
  await Promise.all([eventHubs.stop(), azurite?.stop()]);
});

const registry = () => new IotHubRegistry({ auth: { connectionString: hub.serviceConnectionString }, httpsAgent: hostPortAgent(certificate.cert) });
/** A registered device gets its own connection string; an unknown one a made-up key the hub refuses. */
const connectionStringFor = (deviceId: string) =>
  hub.devices.has(deviceId)
    ? hub.deviceConnectionString(deviceId)
    : `HostName=${hub.hostName};DeviceId=${deviceId};SharedAccessKey=${randomBytes(32).toString('base64')}`;
const devices = (transport: 'mqtt' | 'amqp') => new IotHubDeviceClient({ connectionStringFor, transport, ca: certificate.cert });

deviceClientConformance('IotHubDeviceClient over MQTT (TLS)', async () => ({
  devices: devices('mqtt'),
  registry: registry(),
  telemetry: new EventHubsTelemetryIntake({
    auth: { connectionString: eventHubs.connectionString(hubName) },
    checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${randomUUID().slice(0, 8)}` },
    loadBalancing: { strategy: 'greedy', updateIntervalInMs: 500 },
  }),
  consumerGroup: '$Default',
  dispose: async () => undefined,
}));

describe('cloud-to-device with a device on MQTT', () => {
  it('completes a message by the PUBACK sent on arrival: Success even when the handler would abandon it, and the adapter says so', async () => {
    const cloudToDevice = new IotHubCloudToDevice({ auth: { connectionString: hub.serviceConnectionString } });
    const feedback: DeliveryFeedback[] = [];
    const subscription = await cloudToDevice.subscribeFeedback(async (batch) => void feedback.push(...batch));
    const deviceId = uniqueDeviceId('mqtt-c2d');
    await registry().registerDevices([{ deviceId }]);
    const warnings: string[] = [];
    const log = { info: () => undefined, error: () => undefined, warn: (event: string) => void warnings.push(event) };
    const connection = await new IotHubDeviceClient({ connectionStringFor, transport: 'mqtt', ca: certificate.cert, log }).connect(deviceId);
    const seen: string[] = [];
    connection.onCloudToDeviceMessage(async (m) => {
      seen.push(new TextDecoder().decode(m.body));
      return new TextDecoder().decode(m.body) === 'take' ? 'complete' : 'abandon';
    });
    try {
      const taken = { messageId: randomUUID(), deviceId, body: utf8('take'), properties: { kind: 'command' } };
      const left = { messageId: randomUUID(), deviceId, body: utf8('leave') };
      expect((await cloudToDevice.send(taken)).ok).toBe(true);
      expect((await cloudToDevice.send(left)).ok).toBe(true);
      await eventually(() => expect(feedback.find((f) => f.originalMessageId === left.messageId)?.status).toBe('Success'), 15_000);
      expect(feedback.find((f) => f.originalMessageId === taken.messageId)?.status).toBe('Success');
      expect(seen).toEqual(['take', 'leave']);
      await eventually(() => expect(warnings).toContain('device-client.outcome-unsupported-over-mqtt'));
    } finally {
      await connection.close();
      await subscription.close();
      await cloudToDevice.close();
    }
  });

  it('refuses a device connection string with a wrong key, without echoing the key', async () => {
    const deviceId = uniqueDeviceId('wrong-key');
    await registry().registerDevices([{ deviceId }]);
    const wrongKey = randomBytes(32).toString('base64');
    const client = new IotHubDeviceClient({
      connectionStringFor: () => `HostName=${hub.hostName};DeviceId=${deviceId};SharedAccessKey=${wrongKey}`,
      ca: certificate.cert,
    });
    const error = await client.connect(deviceId).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/could not connect/);
    expect(error?.message).not.toContain(wrongKey);
  });
});
