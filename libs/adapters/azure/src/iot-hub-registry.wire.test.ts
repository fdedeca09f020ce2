import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IotHubRegistry } from './iot-hub-registry.js';
import { deviceRegistryConformance } from '@fieldlink/ports/testing';
import { hostPortAgent, IotHubStandin, type LoopbackCertificate, trustedLoopbackCertificate } from '@fieldlink/azure-standins';

let certificate: LoopbackCertificate;
let hub: IotHubStandin;
beforeAll(async () => {
  certificate = await trustedLoopbackCertificate();
  hub = await new IotHubStandin(certificate).start();
});
afterAll(async () => {
  await hub?.stop();
});

const registry = (connectionString = hub.serviceConnectionString) =>
  new IotHubRegistry({ auth: { connectionString }, httpsAgent: hostPortAgent(certificate.cert) });

deviceRegistryConformance('IotHubRegistry over HTTPS', async () => ({ registry: registry(), dispose: async () => undefined }));

describe('IotHubRegistry over HTTPS, beyond the port contract', () => {
  it('registers more than one bulk call holds (100), with a result per device in order', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => `bulk-${randomBytes(3).toString('hex')}-${i}`);
    const results = await registry().registerDevices(ids.map((deviceId) => ({ deviceId })));
    expect(results.map((r) => r.deviceId)).toEqual(ids);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(ids.every((id) => hub.devices.get(id)?.status === 'enabled')).toBe(true);
  });

  it('enables again a device that was disabled when it is registered again', async () => {
    const deviceId = `disabled-${randomBytes(3).toString('hex')}`;
    await registry().registerDevices([{ deviceId }]);
    hub.devices.get(deviceId)!.status = 'disabled';
    expect(await registry().registerDevices([{ deviceId }])).toEqual([{ deviceId, ok: true, existed: true }]);
    expect((await registry().getTwin(deviceId))?.status).toBe('enabled');
  });

  it('lists the connected, enabled devices through every page of the registry query (1,000 per page)', async () => {
    const ids = Array.from({ length: 1_105 }, (_, i) => `online-${randomBytes(3).toString('hex')}-${i}`);
    await registry().registerDevices(ids.map((deviceId) => ({ deviceId })));
    for (const id of ids) hub.devices.get(id)!.connectionState = 'Connected';
    hub.devices.get(ids[0]!)!.status = 'disabled';
    const connected = await registry().connectedDeviceIds();
    expect(connected.sort()).toEqual(ids.slice(1).sort());
  });

  it('refuses a wrong key without echoing it', async () => {
    const wrongKey = randomBytes(32).toString('base64');
    const connectionString = hub.serviceConnectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${wrongKey}`);
    const error = await registry(connectionString)
      .getTwin('anyone')
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.message).toMatch(/Unauthorized/i);
    expect(error?.message).not.toContain(wrongKey);
    expect(error?.message).not.toContain(encodeURIComponent(wrongKey));
  });
});
