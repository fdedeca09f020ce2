// Provider side of flow 6: the real telemetry ingest produces the alerts-queue message for each
// interaction of the orchestrator's pact. Each provider state sets up real data: the device rules
// as a CFS devicerules.json document, and the reading that the device sends.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSUMER_PACTS_ENV } from '@fieldlink/contracts';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { silentLog } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-orchestrator-fieldlink-stream-processor.json';
const PACTS_DIR_OF_REPO = new URL('../../../../contracts/pacts/', import.meta.url).pathname;

interface ReadingOverThreshold {
  deviceId: string;
  readingType: string;
  reading: number;
  threshold: number;
  ruleOutput: string;
}

/** What the last provider state set up: the ingest with its rules, and the reading to send. */
let scenario: { ingest: TelemetryIngest; alertsQueue: InMemoryQueue; reading: ReadingOverThreshold } | undefined;

const stateHandlers = {
  'a device of a type with a threshold reads over it': async (params: unknown) => {
    const reading = params as ReadingOverThreshold;
    const rules = parseCfsDeviceRules([
      { DeviceType: 'Thermostat', [reading.readingType]: reading.threshold, [`${reading.readingType}RuleOutput`]: reading.ruleOutput },
    ]);
    if (!rules.ok) throw new Error(`provider state: ${JSON.stringify(rules.error)}`);
    const alertsQueue = new InMemoryQueue('alerts');
    const ingest = new TelemetryIngest({
      referenceData: new InMemoryReferenceData(rules.value),
      alertsQueue,
      rejected: new InMemoryRejectedTelemetry(),
      log: silentLog,
      defaultDeviceType: 'Thermostat',
    });
    scenario = { ingest, alertsQueue, reading };
    return undefined;
  },
};

const messageProviders = {
  'a CFS alerts-queue message': async () => {
    if (scenario === undefined) throw new Error('no provider state was set up');
    const { ingest, alertsQueue, reading } = scenario;
    const body = new TextEncoder().encode(JSON.stringify({ DeviceID: reading.deviceId, [reading.readingType]: reading.reading, EventToken: randomUUID() }));
    await ingest.ingestBatch([{ body, connectionDeviceId: reading.deviceId, enqueuedTime: Date.now(), partitionId: '0', sequenceNumber: 1 }]);
    const [message] = await alertsQueue.receive({ maxMessages: 1, maxWaitMs: 0 });
    if (message === undefined) throw new Error('the ingest put no message on the alerts queue');
    return JSON.parse(new TextDecoder().decode(message.body)) as unknown;
  },
};

describe('stream processor honours the pact of the orchestrator (flow 6)', () => {
  it(`produces every message of ${PACT_FILE} from its real ingest`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-orchestrator',
      provider: 'fieldlink-stream-processor',
      pactFile: PACT_FILE,
      providerProject: 'flows',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});

describe("a team's own consumer pact against the stream processor (FIELDLINK_CONSUMER_PACTS)", () => {
  /** A pact another team's consumer of the alerts queue writes with its own consumer test: only the fields it reads. */
  const teamPact = async (consumer: string, fields: Record<string, unknown>): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), 'team-pact-'));
    const pact = new PactV4({ consumer, provider: 'fieldlink-stream-processor', dir, logLevel: 'error' });
    await pact
      .addAsynchronousInteraction()
      .given('a device of a type with a threshold reads over it', {
        deviceId: 'pump-7',
        readingType: 'Temperature',
        reading: 91,
        threshold: 80,
        ruleOutput: 'AlarmTemp',
      })
      .expectsToReceive('a CFS alerts-queue message', (b) => b.withJSONContent(MatchersV3.eachLike(fields)))
      .executeTest(async () => undefined);
    return join(dir, `${consumer}-fieldlink-stream-processor.json`);
  };

  it('verifies the pacts it names whose provider is this one, with the same provider states and messages, and fails on a field the stream processor does not send', async () => {
    const { like, number } = MatchersV3;
    const good = await teamPact('acme-dispatcher', { deviceid: like('pump-7'), reading: number(91), ruleoutput: like('AlarmTemp') });
    const wrong = await teamPact('acme-billing', { deviceid: like('pump-7'), severity: like('high') });
    const other = join(PACTS_DIR_OF_REPO, 'fieldlink-orchestrator-azure-iot-hub.json');
    try {
      process.env[CONSUMER_PACTS_ENV] = `${good},${other}`;
      const passed = await verifyAndRecord({
        consumer: 'fieldlink-orchestrator',
        provider: 'fieldlink-stream-processor',
        pactFile: PACT_FILE,
        providerProject: 'flows',
        options: { stateHandlers, messageProviders },
      });
      expect(passed.result, passed.failure).toBe(true);
      expect(passed.interactionResults.map((i) => i.description)).toEqual(['a CFS alerts-queue message', `${good}: a CFS alerts-queue message`]);

      process.env[CONSUMER_PACTS_ENV] = wrong;
      const failed = await verifyAndRecord({
        consumer: 'fieldlink-orchestrator',
        provider: 'fieldlink-stream-processor',
        pactFile: PACT_FILE,
        providerProject: 'flows',
        options: { stateHandlers, messageProviders },
      });
      expect(failed.result).toBe(false);
      expect(failed.failure).toContain(wrong);
      expect(failed.interactionResults[0]).toMatchObject({ description: 'a CFS alerts-queue message', result: 'OK' });
    } finally {
      delete process.env[CONSUMER_PACTS_ENV];
      for (const f of [good, wrong]) rmSync(join(f, '..'), { recursive: true, force: true });
    }
  }, 120_000);
});
