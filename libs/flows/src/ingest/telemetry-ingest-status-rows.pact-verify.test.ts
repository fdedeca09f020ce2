// Provider side of flow 5: the real telemetry ingest writes the per-minute aggregates and device
// health the console's pact expects. The provider state feeds the device's readings, as the hub
// hands them over, into a TelemetryIngest with in-memory adapters; each message is what the ingest
// wrote to its status store, encoded as status rows.
import { randomUUID } from 'node:crypto';
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { readFileSync } from 'node:fs';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry, InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { encodeDeviceHealthRow, encodeMinuteAggregateRow, encodeTelemetry, silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-console-fieldlink-stream-processor.json';
const devicerules = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as unknown;

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
    const ingest = new TelemetryIngest({
      referenceData: new InMemoryReferenceData(rules.value),
      alertsQueue: new InMemoryQueue('alerts'),
      rejected: new InMemoryRejectedTelemetry(),
      log: silentLog,
      defaultDeviceType: 'Thermostat',
      statusStore,
    });
    const batch: TelemetryEnvelope[] = readings.map(({ enqueuedTime, ...values }, i) => ({
      body: encodeTelemetry({ DeviceID: deviceId, ...values, EventToken: randomUUID() }),
      connectionDeviceId: deviceId,
      enqueuedTime: Date.parse(enqueuedTime),
      partitionId: '0',
      sequenceNumber: i + 1,
    }));
    const outcome = await ingest.ingestBatch(batch);
    if (outcome.rejected > 0) throw new Error(`provider state: the ingest rejected ${outcome.rejected} of the readings`);
    // The rows leave with the partition's next commit (on an interval in the stream processor): now.
    await ingest.flush();
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

describe('stream processor honours the pact of the console (flow 5)', () => {
  it(`writes every status row of ${PACT_FILE} from its real ingest`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-console',
      provider: 'fieldlink-stream-processor',
      pactFile: PACT_FILE,
      providerProject: 'flows',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
