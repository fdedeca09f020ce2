import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { IotHubCloudToDevice } from './iot-hub-cloud-to-device.js';
import { IotHubDeviceClient } from './iot-hub-device-client.js';
import { IotHubRegistry } from './iot-hub-registry.js';
import { cloudToDeviceConformance } from '@fieldlink/ports/testing';
import { hostPortAgent, IotHubStandin, type LoopbackCertificate, trustedLoopbackCertificate } from '@fieldlink/azure-standins';

// Short enough for the suite's redelivery and delivery count tests to run in seconds.
const LOCK_TIMEOUT_MS = 2_000;
const MAX_DELIVERY_COUNT = 4;
let certificate: LoopbackCertificate;
let hub: IotHubStandin;

beforeAll(async () => {
  certificate = await trustedLoopbackCertificate();
  hub = await new IotHubStandin(certificate, { maxDeliveryCount: MAX_DELIVERY_COUNT, lockTimeoutMs: LOCK_TIMEOUT_MS }).start();
});
afterAll(async () => {
  await hub?.stop();
});

const registry = () => new IotHubRegistry({ auth: { connectionString: hub.serviceConnectionString }, httpsAgent: hostPortAgent(certificate.cert) });
/** A registered device gets its own connection string; an unknown one a made-up key the hub refuses. */
const connectionStringFor = (deviceId: string) =>
  hub.devices.has(deviceId)
    ? hub.deviceConnectionString(deviceId)
    : `HostName=${hub.hostName};DeviceId=${deviceId};SharedAccessKey=${randomBytes(32).toString('base64')}`;

cloudToDeviceConformance('IotHubCloudToDevice over AMQPS, devices on AMQPS', async () => {
  const cloudToDevice = new IotHubCloudToDevice({ auth: { connectionString: hub.serviceConnectionString } });
  return {
    cloudToDevice,
    devices: new IotHubDeviceClient({ connectionStringFor, transport: 'amqp', ca: certificate.cert }),
    registerDevice: async (deviceId) => {
      const [result] = await registry().registerDevices([{ deviceId }]);
      expect(result).toMatchObject({ ok: true });
    },
    maxDeliveryCount: MAX_DELIVERY_COUNT,
    deviceLockTimeoutMs: LOCK_TIMEOUT_MS,
    advanceTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => cloudToDevice.close(),
  };
});
