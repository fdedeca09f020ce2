// Consumer side of flow 3: what the stream processor's telemetry intake (the hub's Event
// Hubs-compatible endpoint, read over AMQP) needs of a device-to-cloud event: the device's body as
// sent, and the hub's system properties naming the device and the time it enqueued the message.
// The body example is the CFS telemetry fixture; the event goes through the stand-in hub over AMQP
// into the real intake adapter, and its envelope into the real ingest.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventHubsTelemetryIntake } from './event-hubs-telemetry-intake.js';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { HUB_DEVICE_ID_PATTERN, THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngest } from '@fieldlink/flows';
import { silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite, EventHubsStandin } from '@fieldlink/azure-standins';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { number, regex, uuid } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const telemetry = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/telemetry.thermostat.json', import.meta.url), 'utf8')) as {
  DeviceID: string;
  Temperature: number;
  Humidity: number;
  EventToken: string;
};
const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$';

const pact = new PactV4({ consumer: 'fieldlink-stream-processor', provider: 'azure-iot-hub', dir: PACTS, logLevel: 'error' });
const standin = new EventHubsStandin();
let azurite: RunningAzurite;

describe('stream processor ← IoT hub built-in endpoint (flow 3)', () => {
  beforeAll(async () => {
    rmSync(`${PACTS}fieldlink-stream-processor-azure-iot-hub.json`, { force: true });
    [azurite] = await Promise.all([startAzurite(), standin.start()]);
  });
  afterAll(async () => {
    await Promise.all([standin.stop(), azurite?.stop()]);
  });

  it('hands the event to ingest with the device the hub authenticated and its enqueued time, and ingest raises the CFS alert', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a device sent a telemetry message', { deviceId: telemetry.DeviceID, body: JSON.stringify(telemetry) })
      .expectsToReceive('a device-to-cloud event with the hub system properties', (b) =>
        b
          .withJSONContent({
            DeviceID: regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID),
            Temperature: number(telemetry.Temperature),
            Humidity: number(telemetry.Humidity),
            EventToken: uuid(telemetry.EventToken),
          })
          .withMetadata({
            'iothub-connection-device-id': regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID),
            'iothub-message-source': 'Telemetry',
            'x-opt-enqueued-time': regex(ISO_DATE_TIME, '2026-11-28T09:15:02.113Z'),
          }),
      )
      .executeTest(async (message) => {
        const hubName = `hub-${randomUUID().slice(0, 8)}`;
        standin.createHub(hubName, { partitionCount: 2, consumerGroups: ['rules'] });
        const intake = new EventHubsTelemetryIntake({
          auth: { connectionString: standin.connectionString(hubName) },
          checkpoints: { auth: { connectionString: azurite.connectionString }, containerName: `checkpoints-${hubName}` },
          loadBalancing: { strategy: 'greedy', updateIntervalInMs: 300 },
        });
        const envelopes: TelemetryEnvelope[] = [];
        const subscription = await intake.subscribe('rules', async (batch) => void envelopes.push(...batch));
        try {
          const deviceId = String(message.metadata['iothub-connection-device-id']);
          const before = Date.now();
          standin.appendFromDevice(hubName, deviceId, new TextEncoder().encode(JSON.stringify(message.contents.content)));
          await expect.poll(() => envelopes.length, { timeout: 15_000 }).toBe(1);
          const [envelope] = envelopes;
          expect(envelope!.connectionDeviceId).toBe(deviceId);
          expect(envelope!.enqueuedTime).toBeGreaterThanOrEqual(before);
          const alertsQueue = new InMemoryQueue('alerts');
          const ingest = new TelemetryIngest({
            referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
            alertsQueue,
            rejected: new InMemoryRejectedTelemetry(),
            log: silentLog,
            defaultDeviceType: 'Thermostat',
          });
          const outcome = await ingest.ingestBatch(envelopes);
          expect(outcome.rejected).toBe(0);
          expect(outcome.alerts).toMatchObject([
            { deviceId, readingType: 'Temperature', reading: telemetry.Temperature, threshold: 70, ruleOutput: 'AlarmTemp', time: envelope!.enqueuedTime },
          ]);
        } finally {
          await subscription.close();
        }
      });
  });
});
