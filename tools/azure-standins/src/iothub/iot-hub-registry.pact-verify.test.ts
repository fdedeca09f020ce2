// Provider side of the IoT Hub registry REST calls: the IoT Hub stand-in answers every request of
// the registry adapter's pact. Provider states put real devices and twins in it through its own
// REST API; the verifier reaches it through a loopback front that adds a valid shared access
// signature (the pact leaves the signature out: it changes with every request).
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSharedAccessSignature, type SharedAccessPolicy } from '../amqp/shared-access-signature.js';
import { IotHubStandin } from './iot-hub-standin.js';
import { generateLoopbackCertificate, type LoopbackCertificate } from './loopback-certificate.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-azure-registry-adapter-azure-iot-hub-registry.json';

let policy: SharedAccessPolicy;
let certificate: LoopbackCertificate;
let hub: IotHubStandin;
let front: Server;
let frontUrl = '';

const signature = (): string => makeSharedAccessSignature(hub.hostName, policy, Math.floor(Date.now() / 1000) + 300, 'base64');

/** One call of the hub's REST API, signed, as a service client makes it. */
async function hubCall(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${frontUrl}${path}${path.includes('?') ? '&' : '?'}api-version=2021-04-12`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

const stateHandlers = {
  'no device with the id is in the hub': async (params: unknown) => {
    const status = await hubCall('DELETE', `/devices/${encodeURIComponent((params as { deviceId: string }).deviceId)}`, undefined, { 'If-Match': '*' });
    if (status !== 204 && status !== 404) throw new Error(`provider state: deleting the device answered ${status}`);
    return undefined;
  },
  'a device is in the hub': async (params: unknown) => {
    const p = params as { deviceId: string; tags: Record<string, unknown>; desired: Record<string, unknown> };
    const id = encodeURIComponent(p.deviceId);
    await hubCall('DELETE', `/devices/${id}`, undefined, { 'If-Match': '*' });
    const created = await hubCall('PUT', `/devices/${id}`, { deviceId: p.deviceId, status: 'enabled' });
    if (created !== 200) throw new Error(`provider state: creating the device answered ${created}`);
    const patched = await hubCall('PATCH', `/twins/${id}`, { tags: p.tags, properties: { desired: p.desired } }, { 'If-Match': '*' });
    if (patched !== 200) throw new Error(`provider state: patching the twin answered ${patched}`);
    return undefined;
  },
};

describe('the IoT Hub stand-in honours the pact of the registry adapter', () => {
  beforeAll(async () => {
    certificate = await generateLoopbackCertificate();
    hub = await new IotHubStandin(certificate).start();
    // The service policy, read from the hub's own connection string, signs the verifier's requests.
    const fields = new Map(
      hub.serviceConnectionString.split(';').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const),
    );
    policy = { keyName: fields.get('SharedAccessKeyName') ?? '', key: fields.get('SharedAccessKey') ?? '' };
    const [host, port] = hub.hostName.split(':');
    front = createServer((req, res) => {
      const upstream = request(
        {
          host,
          port: Number(port),
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: hub.hostName, authorization: signature() },
          ca: certificate.cert,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (e) => {
        res.writeHead(502);
        res.end(e.message);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => front?.close(resolve));
    await hub?.stop();
  });

  it(`answers every request of ${PACT_FILE} as the pact says`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-azure-registry-adapter',
      provider: 'azure-iot-hub-registry',
      pactFile: PACT_FILE,
      providerProject: 'azure-standins',
      options: { providerBaseUrl: frontUrl, stateHandlers },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
