// Consumer side of flows 1–2: what the stream processor's telemetry ingest needs of a thermostat's
// device-to-cloud messages. The examples are the CFS telemetry fixture; the pact is written to
// contracts/pacts and verified against the thermostat simulator's fleet.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { HUB_DEVICE_ID_PATTERN, parseCfsDeviceRules } from '@fieldlink/domain';
import { silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { number, regex, uuid } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const cfs = (name: string): string => readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8');
const telemetry = JSON.parse(cfs('telemetry.thermostat.json')) as { DeviceID: string; Temperature: number; Humidity: number; EventToken: string };
const alertsFixture = JSON.parse(cfs('alerts-queue.message.json')) as Array<{ time: string }>;
const enqueuedTime = Date.parse(alertsFixture[0]!.time);

const pact = new PactV4({ consumer: 'fieldlink-stream-processor', provider: 'fieldlink-thermostat-simulator', dir: PACTS, logLevel: 'error' });

const ingestWithCfsRules = () => {
  const rules = parseCfsDeviceRules(JSON.parse(cfs('devicerules.json')));
  if (!rules.ok) throw new Error('the CFS devicerules fixture no longer parses');
  const alertsQueue = new InMemoryQueue('alerts');
  const rejected = new InMemoryRejectedTelemetry();
  const ingest = new TelemetryIngest({
    referenceData: new InMemoryReferenceData(rules.value),
    alertsQueue,
    rejected,
    log: silentLog,
    defaultDeviceType: 'Thermostat',
  });
  return { ingest, alertsQueue, rejected };
};

/** The message as the hub hands it over: body as sent, the hub's enqueued time and position. */
const envelopeOf = (content: unknown): TelemetryEnvelope => ({
  body: new TextEncoder().encode(JSON.stringify(content)),
  connectionDeviceId: telemetry.DeviceID,
  enqueuedTime,
  partitionId: '0',
  sequenceNumber: 1,
});

describe('stream processor ← thermostat simulator (flows 1–2)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-stream-processor-fieldlink-thermostat-simulator.json`, { force: true }));

  it('turns a thermostat reading over the CFS threshold into the CFS alerts-queue message', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat reads a temperature and humidity', {
        deviceId: telemetry.DeviceID,
        temperature: telemetry.Temperature,
        humidity: telemetry.Humidity,
      })
      .expectsToReceive('a thermostat reading', (b) =>
        b.withJSONContent({
          DeviceID: regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID),
          Temperature: number(telemetry.Temperature),
          Humidity: number(telemetry.Humidity),
          EventToken: uuid(telemetry.EventToken),
        }),
      )
      .executeTest(async (message) => {
        const { ingest, alertsQueue, rejected } = ingestWithCfsRules();
        const outcome = await ingest.ingestBatch([envelopeOf(message.contents.content)]);
        expect(outcome.rejected).toBe(0);
        expect(await rejected.list(10)).toEqual([]);
        const [alert] = await alertsQueue.receive({ maxMessages: 10, maxWaitMs: 0 });
        expect(JSON.parse(new TextDecoder().decode(alert!.body))).toEqual(alertsFixture);
      });
  });

  it('takes a heartbeat (device id and token, no reading) without rejecting it or raising an alert', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat is connected', { deviceId: telemetry.DeviceID })
      .expectsToReceive('a thermostat heartbeat', (b) =>
        b.withJSONContent({ DeviceID: regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID), EventToken: uuid(telemetry.EventToken) }),
      )
      .executeTest(async (message) => {
        const { ingest, alertsQueue, rejected } = ingestWithCfsRules();
        const outcome = await ingest.ingestBatch([envelopeOf(message.contents.content)]);
        expect(outcome).toEqual({ alerts: [], rejected: 0, skipped: 0 });
        expect(await rejected.list(10)).toEqual([]);
        expect(alertsQueue.activeCount).toBe(0);
      });
  });
});
