// Provider side of flow 3: the stand-in IoT hub takes the state's device-to-cloud message as the
// hub does (stamps it, partitions it by device) and serves it on its Event Hubs-compatible
// endpoint; the message is the event as read back over AMQP, body and system properties.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { earliestEventPosition, EventHubConsumerClient, type ReceivedEventData } from '@azure/event-hubs';
import { Verifier } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHubsStandin } from './event-hubs-standin.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'stream-processor-iot-hub.json';
const pactPath = fileURLToPath(new URL(`../../../../contracts/pacts/${PACT_FILE}`, import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../../tmp/pact-results/', import.meta.url));

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

/** Reads the first event of the partition over AMQP, as any Event Hubs client would. */
async function readBack(hubName: string, partitionId: string): Promise<ReceivedEventData> {
  const client = new EventHubConsumerClient('$default', standin.connectionString(hubName));
  try {
    return await new Promise<ReceivedEventData>((resolve, reject) => {
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
  } finally {
    await client.close();
  }
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

function summaryOf(outcome: unknown): { result: boolean; interactionResults: Array<{ description: string; result: string }> } {
  const text = outcome instanceof Error ? outcome.message : String(outcome);
  try {
    return JSON.parse(text) as ReturnType<typeof summaryOf>;
  } catch {
    return { result: false, interactionResults: [] };
  }
}

describe('the IoT hub (stand-in) honours the pact of the stream processor (flow 3)', () => {
  beforeAll(async () => {
    await standin.start();
  });
  afterAll(async () => {
    await standin.stop();
  });

  it(`serves every event of ${PACT_FILE} on its Event Hubs-compatible endpoint`, async () => {
    const pactBytes = readFileSync(pactPath);
    const outcome = await new Verifier({ provider: 'iot-hub', pactUrls: [pactPath], stateHandlers, messageProviders, logLevel: 'error' }).verifyProvider().catch((e: unknown) => e);
    const summary = summaryOf(outcome);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      `${resultsDir}${PACT_FILE}`,
      JSON.stringify({
        consumer: 'stream-processor',
        provider: 'iot-hub',
        pactFile: PACT_FILE,
        pactSha256: createHash('sha256').update(pactBytes).digest('hex'),
        providerProject: 'azure-standins',
        verifiedAt: new Date().toISOString(),
        passed: summary.result,
        interactions: summary.interactionResults.map((i) => ({ description: i.description, result: i.result })),
      }),
    );
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, outcome instanceof Error ? outcome.message : '').toBe(true);
  });
});
