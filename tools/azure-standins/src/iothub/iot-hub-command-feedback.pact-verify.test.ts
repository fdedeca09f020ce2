// Provider side of the hub's delivery feedback (flows 16–19): in each provider state the Azure
// adapter sends a real cloud-to-device message to a registered device, a real AMQP device settles
// it, and the stand-in IoT hub writes its feedback record; the message is the feedback body as
// read back on the service's `/messages/servicebound/feedback` link by azure-iothub's own client.
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { IotHubCloudToDevice, IotHubDeviceClient, IotHubRegistry } from '@fieldlink/adapter-azure';
import type { DeviceConnection, DeviceMessageOutcome } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
// CommonJS: the client is reachable through the default import under Node's ESM loader.
import iothub, { type Client as ServiceClient } from 'azure-iothub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPortAgent } from './host-port-agent.js';
import { IotHubStandin } from './iot-hub-standin.js';
import type { LoopbackCertificate } from './loopback-certificate.js';
import { trustedLoopbackCertificate } from './tls-trust.global-setup.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-orchestrator-azure-iot-hub.json';
const FEEDBACK_WAIT_MS = 15_000;

let certificate: LoopbackCertificate;
let hub: IotHubStandin;
let cloudToDevice: IotHubCloudToDevice;
let feedbackClient: ServiceClient;
/** Every feedback body the hub delivered on the feedback link, as received (UTF-8 text). */
const feedbackBodies: string[] = [];
const devices: DeviceConnection[] = [];
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

/** Registers the device, sends it the state's command and lets a real AMQP device settle it. */
async function deviceSettles(params: unknown, outcome: DeviceMessageOutcome): Promise<undefined> {
  const p = params as StateParams;
  // Each state starts afresh: the pact's states reuse one device and message id.
  feedbackOfState = undefined;
  await Promise.all(devices.splice(0).map((d) => d.close()));
  feedbackBodies.length = 0;
  if (!hub.devices.has(p.deviceId)) {
    const registry = new IotHubRegistry({ auth: { connectionString: hub.serviceConnectionString }, httpsAgent: hostPortAgent(certificate.cert) });
    const [registered] = await registry.registerDevices([{ deviceId: p.deviceId }]);
    if (!registered?.ok) throw new Error(`provider state: registering device '${p.deviceId}' failed`);
  }
  const connection = await new IotHubDeviceClient({
    connectionStringFor: (id) => hub.deviceConnectionString(id),
    transport: 'amqp',
    ca: certificate.cert,
  }).connect(p.deviceId);
  devices.push(connection);
  const received: string[] = [];
  connection.onCloudToDeviceMessage(async (m) => {
    received.push(new TextDecoder().decode(m.body));
    return m.messageId === p.messageId ? outcome : 'abandon';
  });
  const sent = await cloudToDevice.send({ messageId: p.messageId, deviceId: p.deviceId, body: new TextEncoder().encode(p.body) });
  if (!sent.ok) throw new Error(`provider state: sending to '${p.deviceId}' failed: ${sent.error.message}`);
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
    cloudToDevice = new IotHubCloudToDevice({ auth: { connectionString: hub.serviceConnectionString } });
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
    await cloudToDevice?.close();
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
