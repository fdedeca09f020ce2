// Provider side of flow 5: the real telemetry ingest writes the per-minute aggregates and device
// health the console's pact expects. The provider state feeds the device's readings, as the hub
// hands them over, into a TelemetryIngest with in-memory adapters; each message is what the ingest
// wrote to its status store, encoded as status rows.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { encodeDeviceHealthRow, encodeMinuteAggregateRow, encodeTelemetry, silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { Verifier } from '@pact-foundation/pact';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'console-stream-processor.json';
const pactPath = fileURLToPath(new URL(`../../../contracts/pacts/${PACT_FILE}`, import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../tmp/pact-results/', import.meta.url));
const devicerules = JSON.parse(readFileSync(new URL('../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as unknown;

interface ReadingsState {
  deviceId: string;
  /** Each reading's values and the hub's enqueued time (ISO 8601). */
  readings: Array<{ enqueuedTime: string } & Record<string, number | string>>;
}

/** The status store the last provider state's ingest wrote to, and the device it was about. */
let scenario: { statusStore: InMemoryStatusStore; deviceId: string } | undefined;

const stateHandlers = {
  'a thermostat sent readings within one minute': async (params: unknown) => {
    const { deviceId, readings } = params as ReadingsState;
    const rules = parseCfsDeviceRules(devicerules);
    if (!rules.ok) throw new Error(`provider state: ${JSON.stringify(rules.error)}`);
    const statusStore = new InMemoryStatusStore();
    const ingest = new TelemetryIngest({ referenceData: new InMemoryReferenceData(rules.value), alertsQueue: new InMemoryQueue('alerts'), rejected: new InMemoryRejectedTelemetry(), log: silentLog, defaultDeviceType: 'Thermostat', statusStore });
    const batch: TelemetryEnvelope[] = readings.map(({ enqueuedTime, ...values }, i) => ({
      body: encodeTelemetry({ DeviceID: deviceId, ...values, EventToken: randomUUID() }),
      connectionDeviceId: deviceId,
      enqueuedTime: Date.parse(enqueuedTime),
      partitionId: '0',
      sequenceNumber: i + 1,
    }));
    const outcome = await ingest.ingestBatch(batch);
    if (outcome.rejected > 0) throw new Error(`provider state: the ingest rejected ${outcome.rejected} of the readings`);
    scenario = { statusStore, deviceId };
    return undefined;
  },
};

const written = () => {
  if (scenario === undefined) throw new Error('no provider state was set up');
  return scenario;
};

const messageProviders = {
  'the per-device per-minute aggregates': async () => {
    const { statusStore, deviceId } = written();
    const rows = await statusStore.queryAggregates(deviceId, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    if (rows.length === 0) throw new Error('the ingest wrote no aggregate row');
    return rows.map(encodeMinuteAggregateRow);
  },
  'the health of a device': async () => {
    const rows = await written().statusStore.listDeviceHealth();
    if (rows.length === 0) throw new Error('the ingest wrote no health row');
    return rows.map(encodeDeviceHealthRow);
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

describe('stream processor honours the pact of the console (flow 5)', () => {
  it(`writes every status row of ${PACT_FILE} from its real ingest`, async () => {
    const pactBytes = readFileSync(pactPath);
    const outcome = await new Verifier({ provider: 'stream-processor', pactUrls: [pactPath], stateHandlers, messageProviders, logLevel: 'error' }).verifyProvider().catch((e: unknown) => e);
    const summary = summaryOf(outcome);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      `${resultsDir}${PACT_FILE}`,
      JSON.stringify({
        consumer: 'console',
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
