// Provider side of flow 6: the real telemetry ingest produces the alerts-queue message for each
// interaction of the orchestrator's pact. Each provider state sets up real data: the device rules
// as a CFS devicerules.json document, and the reading that the device sends.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { silentLog } from '@fieldlink/ports';
import { Verifier } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'orchestrator-stream-processor.json';
const pactPath = fileURLToPath(new URL(`../../../contracts/pacts/${PACT_FILE}`, import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../tmp/pact-results/', import.meta.url));

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

/** The verifier's summary, whether it passed (resolved) or failed (rejected with the same JSON). */
function summaryOf(outcome: unknown): { result: boolean; interactionResults: Array<{ description: string; result: string }> } {
  const text = outcome instanceof Error ? outcome.message : String(outcome);
  try {
    return JSON.parse(text) as ReturnType<typeof summaryOf>;
  } catch {
    return { result: false, interactionResults: [] };
  }
}

describe('stream processor honours the pact of the orchestrator (flow 6)', () => {
  it(`produces every message of ${PACT_FILE} from its real ingest`, async () => {
    const pactBytes = readFileSync(pactPath);
    const outcome = await new Verifier({ provider: 'stream-processor', pactUrls: [pactPath], stateHandlers, messageProviders, logLevel: 'error' }).verifyProvider().catch((e: unknown) => e);
    const summary = summaryOf(outcome);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      `${resultsDir}${PACT_FILE}`,
      JSON.stringify({
        consumer: 'orchestrator',
        provider: 'stream-processor',
        pactFile: PACT_FILE,
        pactSha256: createHash('sha256').update(pactBytes).digest('hex'),
        providerProject: 'flows',
        verifiedAt: new Date().toISOString(),
        passed: summary.result,
        interactions: summary.interactionResults.map((i) => ({ description: i.description, result: i.result })),
      }),
    );
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, outcome instanceof Error ? outcome.message : '').toBe(true);
  });
});
