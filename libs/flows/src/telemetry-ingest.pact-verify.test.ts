// Provider side of flow 6: the real telemetry ingest produces the alerts-queue message for each
// interaction of the orchestrator's pact. Each provider state sets up real data: the device rules
// as a CFS devicerules.json document, and the reading that the device sends.
import { randomUUID } from 'node:crypto';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { silentLog } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'orchestrator-stream-processor.json';

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
    const rules = parseCfsDeviceRules([{ DeviceType: 'Thermostat', [reading.readingType]: reading.threshold, [`${reading.readingType}RuleOutput`]: reading.ruleOutput }]);
    if (!rules.ok) throw new Error(`provider state: ${JSON.stringify(rules.error)}`);
    const alertsQueue = new InMemoryQueue('alerts');
    const ingest = new TelemetryIngest({ referenceData: new InMemoryReferenceData(rules.value), alertsQueue, rejected: new InMemoryRejectedTelemetry(), log: silentLog, defaultDeviceType: 'Thermostat' });
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
    const summary = await verifyAndRecord({ consumer: 'orchestrator', provider: 'stream-processor', pactFile: PACT_FILE, providerProject: 'flows', options: { stateHandlers, messageProviders } });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
