// Provider side of flow 3: the stand-in IoT hub takes the state's device-to-cloud message as the
// hub does (stamps it, partitions it by device) and serves it on its Event Hubs-compatible
// endpoint; the message is the event as read back over AMQP, body and system properties.
import { randomUUID } from 'node:crypto';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { earliestEventPosition, EventHubConsumerClient, type ReceivedEventData } from '@azure/event-hubs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { EventHubsStandin } from './event-hubs-standin.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-stream-processor-azure-iot-hub.json';

const standin = new EventHubsStandin();
let sent: { hubName: string; partitionId: string } | undefined;

const stateHandlers = {
  'a device sent a telemetry message': async (params: unknown) => {
    const p = params as { deviceId: string; body: string };
    const hubName = `hub-${randomUUID().slice(0, 8)}`;
    standin.createHub(hubName, { partitionCount: 2 });
    const { partitionId } = standin.appendFromDevice(hubName, p.deviceId, new TextEncoder().encode(p.body));
    sent = { hubName, partitionId };
    return undefined;
  },
};

/**
 * Reads the first event of the partition over AMQP, as any Event Hubs client would. The client
 * (and its subscription with it) closes when the verifying test ends, whatever its outcome.
 */
async function readBack(hubName: string, partitionId: string): Promise<ReceivedEventData> {
  const client = new EventHubConsumerClient('$default', standin.connectionString(hubName));
  onTestFinished(() => client.close());
  return new Promise<ReceivedEventData>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 15 s')), 15_000);
    const subscription = client.subscribe(
      partitionId,
      {
        processEvents: async (events) => {
          if (events.length === 0) return;
          clearTimeout(timer);
          await subscription.close();
          resolve(events[0]!);
        },
        processError: async (error) => {
          clearTimeout(timer);
          reject(error);
        },
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
    );
  });
}

const messageProviders = {
  'a device-to-cloud event with the hub system properties': async () => {
    if (sent === undefined) throw new Error('no provider state was set up');
    const event = await readBack(sent.hubName, sent.partitionId);
    const system = event.systemProperties ?? {};
    const body = Buffer.isBuffer(event.body) || event.body instanceof Uint8Array ? Buffer.from(event.body).toString('utf8') : JSON.stringify(event.body);
    return {
      __pactMessageMetadata: {
        'iothub-connection-device-id': String(system['iothub-connection-device-id']),
        'iothub-message-source': String(system['iothub-message-source']),
        'x-opt-enqueued-time': event.enqueuedTimeUtc.toISOString(),
      },
      message: JSON.parse(body) as unknown,
    };
  },
};

describe('the IoT hub (stand-in) honours the pact of the stream processor (flow 3)', () => {
  beforeAll(async () => {
    await standin.start();
  });
  afterAll(async () => {
    await standin.stop();
  });

  it(`serves every event of ${PACT_FILE} on its Event Hubs-compatible endpoint`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-stream-processor',
      provider: 'azure-iot-hub',
      pactFile: PACT_FILE,
      providerProject: 'azure-standins',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
