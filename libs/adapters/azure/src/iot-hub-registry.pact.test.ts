// Consumer side of the IoT Hub registry REST calls (flows 16′–18′, and the twin update and pull
// of later CFS): the real registry adapter (azure-iothub's Registry over HTTPS) against Pact's
// mock hub. The SDK speaks HTTPS only, so a TLS front with the stand-ins' loopback certificate
// sits before the mock. Field names and the enabled status are the hub's; ids and values by shape.
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { IotHubRegistry } from './iot-hub-registry.js';
import { settleMockServer } from '@fieldlink/contracts/testing';
import { HUB_DEVICE_ID_PATTERN } from '@fieldlink/domain';
import { MatchersV3, PactV4, type V3MockServer } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostPortAgent, generateLoopbackCertificate, type LoopbackCertificate } from '@fieldlink/azure-standins';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { eachLike, like, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const DEVICE = 'thermostat-1';
const API_VERSION = { 'api-version': regex('^\\d{4}-\\d{2}-\\d{2}(-preview)?$', '2021-04-12') };
const JSON_REQUEST = { 'Content-Type': regex('^application/json.*$', 'application/json; charset=utf-8') };
const JSON_RESPONSE = { 'Content-Type': regex('^application/json.*$', 'application/json; charset=utf-8') };
const deviceIdPath = (collection: string): ReturnType<typeof regex> => regex(`^/${collection}/[^/]+$`, `/${collection}/${DEVICE}`);

const twin = (tags: Record<string, unknown>, desired: Record<string, unknown>) => ({
  deviceId: regex(HUB_DEVICE_ID_PATTERN.source, DEVICE),
  status: regex('^(enabled|disabled)$', 'enabled'),
  connectionState: regex('^(Connected|Disconnected)$', 'Disconnected'),
  tags: like(tags),
  properties: { desired: like(desired), reported: like({}) },
});

const pact = new PactV4({ consumer: 'fieldlink-azure-registry-adapter', provider: 'azure-iot-hub-registry', dir: PACTS, logLevel: 'error' });
let certificate: LoopbackCertificate;

/** Runs `use` with the adapter pointed at an HTTPS front of the mock server, then waits until the mock has recorded every request it answered. */
async function withAdapter<T>(mock: V3MockServer, use: (registry: IotHubRegistry) => Promise<T>): Promise<T> {
  const target = new URL(mock.url);
  const front: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const key = Buffer.from('contract-test-key-not-a-secret!!').toString('base64');
  const registry = new IotHubRegistry({
    auth: { connectionString: `HostName=127.0.0.1:${(front.address() as AddressInfo).port};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}` },
    httpsAgent: hostPortAgent(certificate.cert),
  });
  try {
    return await use(registry);
  } finally {
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
    await settleMockServer(mock);
  }
}

describe('azure registry adapter ← IoT Hub registry REST API', () => {
  beforeAll(async () => {
    rmSync(`${PACTS}fieldlink-azure-registry-adapter-azure-iot-hub-registry.json`, { force: true });
    certificate = await generateLoopbackCertificate();
  });

  it('registers a device: creates it enabled in one bulk call, then sets its tags and desired properties (flows 16′–18′)', async () => {
    pact
      .addInteraction()
      .given('no device with the id is in the hub', { deviceId: DEVICE })
      .uponReceiving('create enabled devices in bulk')
      .withRequest('POST', '/devices', (b) =>
        b
          .query(API_VERSION)
          .headers(JSON_REQUEST)
          .jsonBody(
            eachLike({
              id: regex(HUB_DEVICE_ID_PATTERN.source, DEVICE),
              status: 'enabled',
              importMode: 'create',
              authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } },
            }),
          ),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody({ isSuccessful: true, errors: [] }));
    await pact
      .addInteraction()
      .given('a device is in the hub', { deviceId: DEVICE, tags: {}, desired: {} })
      .uponReceiving('update the tags and desired properties of a twin')
      .withRequest('PATCH', deviceIdPath('twins'), (b) =>
        b
          .query(API_VERSION)
          .headers({ ...JSON_REQUEST, 'If-Match': '"*"' })
          .jsonBody({ tags: like({ site: 'lobby' }), properties: { desired: like({ TargetTemperature: 21 }) } }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody(twin({ site: 'lobby' }, { TargetTemperature: 21 })))
      .executeTest((mock) =>
        withAdapter(mock, async (registry) => {
          expect(await registry.registerDevices([{ deviceId: DEVICE, tags: { site: 'lobby' }, desiredProperties: { TargetTemperature: 21 } }])).toEqual([
            { deviceId: DEVICE, ok: true, existed: false },
          ]);
        }),
      );
  });

  it('puts new settings into the desired properties of the twin (later CFS: update)', async () => {
    await pact
      .addInteraction()
      .given('a device is in the hub', { deviceId: DEVICE, tags: { site: 'lobby' }, desired: { TargetTemperature: 21 } })
      .uponReceiving('update the desired properties of a twin')
      .withRequest('PATCH', deviceIdPath('twins'), (b) =>
        b
          .query(API_VERSION)
          .headers({ ...JSON_REQUEST, 'If-Match': '"*"' })
          .jsonBody({ properties: { desired: like({ TargetTemperature: 19 }) } }),
      )
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody(twin({ site: 'lobby' }, { TargetTemperature: 19 })))
      .executeTest((mock) =>
        withAdapter(mock, async (registry) => {
          expect(await registry.updateTwin(DEVICE, { desiredProperties: { TargetTemperature: 19 } })).toMatchObject({
            deviceId: DEVICE,
            desired: { TargetTemperature: 19 },
            tags: { site: 'lobby' },
          });
        }),
      );
  });

  it('reads the twin of a device: status, connection state, tags and properties (later CFS: pull)', async () => {
    await pact
      .addInteraction()
      .given('a device is in the hub', { deviceId: DEVICE, tags: { site: 'lobby' }, desired: { TargetTemperature: 21 } })
      .uponReceiving('read the twin of a device')
      .withRequest('GET', deviceIdPath('twins'), (b) => b.query(API_VERSION))
      .willRespondWith(200, (b) => b.headers(JSON_RESPONSE).jsonBody(twin({ site: 'lobby' }, { TargetTemperature: 21 })))
      .executeTest((mock) =>
        withAdapter(mock, async (registry) => {
          expect(await registry.getTwin(DEVICE)).toMatchObject({
            deviceId: DEVICE,
            status: 'enabled',
            connectionState: 'Disconnected',
            tags: { site: 'lobby' },
            desired: { TargetTemperature: 21 },
          });
        }),
      );
  });
});
