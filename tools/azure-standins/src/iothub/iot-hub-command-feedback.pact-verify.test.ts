// Provider side of the hub's delivery feedback (flows 16–19): in each provider state azure-iothub's
// service client sends a real cloud-to-device message to a device registered through the hub's
// REST API, a real AMQP device (azure-iot-device) settles it, and the stand-in IoT hub writes its
// feedback record; the message is the feedback body as read back on the service's
// `/messages/servicebound/feedback` link by azure-iothub's own client. Only Microsoft's SDKs talk
// to the stand-in here: Fieldlink's adapters are tested against it in libs/adapters/azure.
import { request } from 'node:https';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { waitFor } from '@fieldlink/ports/testing';
// CommonJS: the clients are reachable through the default imports under Node's ESM loader.
import device, { type Client as DeviceClient, type Message } from 'azure-iot-device';
import { Amqp as DeviceAmqp } from 'azure-iot-device-amqp';
import iothub, { type Client as ServiceClient } from 'azure-iothub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSharedAccessSignature } from '../amqp/shared-access-signature.js';
import { IotHubStandin } from './iot-hub-standin.js';
import type { LoopbackCertificate } from './loopback-certificate.js';
import { trustedLoopbackCertificate } from './tls-trust.global-setup.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-orchestrator-azure-iot-hub.json';
const FEEDBACK_WAIT_MS = 15_000;

let certificate: LoopbackCertificate;
let hub: IotHubStandin;
/** The service's client: sends the commands and reads the feedback link. */
let feedbackClient: ServiceClient;
/** Every feedback body the hub delivered on the feedback link, as received (UTF-8 text). */
const feedbackBodies: string[] = [];
const devices: DeviceClient[] = [];
let feedbackOfState: string | undefined;

interface StateParams {
  readonly deviceId: string;
  readonly messageId: string;
  readonly body: string;
}

const recordsOf = (body: string): Array<{ originalMessageId?: unknown }> => {
  const parsed = JSON.parse(body) as unknown;
  return Array.isArray(parsed) ? (parsed as Array<{ originalMessageId?: unknown }>) : [];
};

/** Waits for the feedback body that reports the message, as the hub sent it. */
async function feedbackFor(messageId: string): Promise<string> {
  const reporting = () => feedbackBodies.find((b) => recordsOf(b).some((r) => r.originalMessageId === messageId));
  return waitFor(`provider state: feedback for message '${messageId}'`, reporting, FEEDBACK_WAIT_MS, 50);
}

/** Creates the device through the hub's registry REST API, signed with the hub's service policy. */
async function registerDevice(deviceId: string): Promise<void> {
  const fields = new Map(hub.serviceConnectionString.split(';').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const));
  const policy = { keyName: fields.get('SharedAccessKeyName') ?? '', key: fields.get('SharedAccessKey') ?? '' };
  const [host, port] = hub.hostName.split(':');
  const body = JSON.stringify({ deviceId, status: 'enabled' });
  const status = await new Promise<number>((resolve, reject) => {
    const put = request(
      {
        host,
        port: Number(port),
        method: 'PUT',
        path: `/devices/${encodeURIComponent(deviceId)}?api-version=2021-04-12`,
        headers: {
          authorization: makeSharedAccessSignature(hub.hostName, policy, Math.floor(Date.now() / 1000) + 300, 'base64'),
          'content-type': 'application/json',
        },
        ca: certificate.cert,
      },
      (answer) => {
        answer.resume();
        resolve(answer.statusCode ?? 0);
      },
    );
    put.on('error', reject);
    put.end(body);
  });
  if (status !== 200) throw new Error(`provider state: registering device '${deviceId}' answered ${status}`);
}

/** Registers the device, sends it the state's command and lets a real AMQP device settle it. */
async function deviceSettles(params: unknown, outcome: 'complete' | 'reject'): Promise<undefined> {
  const p = params as StateParams;
  // Each state starts afresh: the pact's states reuse one device and message id.
  feedbackOfState = undefined;
  await Promise.all(devices.splice(0).map((d) => d.close()));
  feedbackBodies.length = 0;
  if (!hub.devices.has(p.deviceId)) await registerDevice(p.deviceId);
  const client = device.Client.fromConnectionString(hub.deviceConnectionString(p.deviceId), DeviceAmqp);
  devices.push(client);
  await client.setOptions({ ca: certificate.cert });
  await client.open();
  const received: string[] = [];
  client.on('message', (m: Message) => {
    received.push(m.getBytes().toString('utf8'));
    const settled: Promise<unknown> = m.messageId !== p.messageId ? client.abandon(m) : outcome === 'complete' ? client.complete(m) : client.reject(m);
    // A failed settlement shows as missing feedback, which the state waits for and reports.
    settled.catch(() => undefined);
  });
  const command = new device.Message(Buffer.from(p.body, 'utf8'));
  command.messageId = p.messageId;
  command.ack = 'full';
  await feedbackClient.send(p.deviceId, command);
  feedbackOfState = await feedbackFor(p.messageId);
  if (!received.includes(p.body)) throw new Error(`provider state: device '${p.deviceId}' never received the command`);
  return undefined;
}

const stateHandlers = {
  'a device completed a cloud-to-device command': (params: unknown) => deviceSettles(params, 'complete'),
  'a device rejected a cloud-to-device command': (params: unknown) => deviceSettles(params, 'reject'),
};

const fromFeedbackEndpoint = async () => {
  if (feedbackOfState === undefined) throw new Error('no provider state was set up');
  return JSON.parse(feedbackOfState) as unknown;
};

const messageProviders = {
  'delivery feedback for a command': fromFeedbackEndpoint,
  'rejection feedback for a command': fromFeedbackEndpoint,
};

describe('the IoT hub (stand-in) honours the delivery feedback pact of the orchestrator (flows 16–19)', () => {
  beforeAll(async () => {
    certificate = await trustedLoopbackCertificate();
    hub = await new IotHubStandin(certificate).start();
    // The SDK's own service client with its default transport: it reads the feedback link as any
    // service would, and hands over each message's body untouched.
    feedbackClient = iothub.Client.fromConnectionString(hub.serviceConnectionString);
    await feedbackClient.open();
    const receiver = (await feedbackClient.getFeedbackReceiver()).result as unknown as {
      on(event: 'message', listener: (m: { getBytes(): Buffer }) => void): void;
    };
    receiver.on('message', (m) => void feedbackBodies.push(m.getBytes().toString('utf8')));
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await feedbackClient?.close().catch(() => undefined);
    await hub?.stop();
  });

  it(`emits the feedback of every interaction of ${PACT_FILE} on its feedback endpoint`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-orchestrator',
      provider: 'azure-iot-hub',
      pactFile: PACT_FILE,
      providerProject: 'azure-standins',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
