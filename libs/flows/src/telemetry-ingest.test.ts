import { readFileSync } from 'node:fs';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { TelemetryIngest } from './telemetry-ingest.js';

const cfs = (name: string): string => readFileSync(new URL(`../../../fixtures/cfs/${name}`, import.meta.url), 'utf8');
const envelope = (body: string, enqueuedTime: number, sequenceNumber = 0): TelemetryEnvelope => ({ body: new TextEncoder().encode(body), connectionDeviceId: 'thermostat-1', enqueuedTime, partitionId: '0', sequenceNumber });

const setup = () => {
  const alertsQueue = new InMemoryQueue('alerts');
  const rejected = new InMemoryRejectedTelemetry();
  const ingest = new TelemetryIngest({ referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES), alertsQueue, rejected, log: silentLog, defaultDeviceType: 'Thermostat' });
  return { ingest, alertsQueue, rejected };
};

describe('TelemetryIngest', () => {
  it('puts the CFS alerts-queue message for the CFS telemetry fixture on the alerts queue', async () => {
    const { ingest, alertsQueue } = setup();
    const expected = JSON.parse(cfs('alerts-queue.message.json')) as Array<{ time: string }>;
    await ingest.handleBatch([envelope(cfs('telemetry.thermostat.json'), Date.parse(expected[0]!.time))]);
    const [message] = await alertsQueue.receive({ maxMessages: 10, maxWaitMs: 0 });
    expect(JSON.parse(new TextDecoder().decode(message!.body))).toEqual(expected);
    expect(message!.messageId).toBe('6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01');
  });

  it('sends nothing for a reading at or under the threshold', async () => {
    const { ingest, alertsQueue } = setup();
    await ingest.handleBatch([envelope(JSON.stringify({ DeviceID: 'thermostat-1', Temperature: 70, Humidity: 40, EventToken: 'e1' }), 0)]);
    expect(alertsQueue.activeCount).toBe(0);
  });

  it('never raises the same alert twice when a batch is read again after a restart', async () => {
    const { ingest, alertsQueue } = setup();
    const batch = [envelope(cfs('telemetry.thermostat.json'), 0)];
    await ingest.handleBatch(batch);
    await setup().ingest.handleBatch(batch).then(() => ingest.handleBatch(batch));
    expect(alertsQueue.activeCount).toBe(1);
  });

  it('keeps a message it cannot read, with the reason, and goes on with the next', async () => {
    const { ingest, alertsQueue, rejected } = setup();
    await ingest.handleBatch([envelope('{"DeviceID":"thermostat-1","Temperature":"hot","EventToken":"e"}', 0, 0), envelope(cfs('telemetry.thermostat.json'), 0, 1)]);
    const [kept] = await rejected.list(10);
    expect(kept).toMatchObject({ reason: 'InvalidTelemetry', description: 'Temperature: Invalid input: expected number, received string' });
    expect(kept!.envelope.sequenceNumber).toBe(0);
    expect(alertsQueue.activeCount).toBe(1);
  });
});
