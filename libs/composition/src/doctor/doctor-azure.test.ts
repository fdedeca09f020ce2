// `fieldlink doctor` against the stand-ins: what is there passes, and each missing queue, consumer
// group or container, and a wrong key, is one line naming it.
import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { EventHubsStandin, ServiceBusStandin, startAzurite, type RunningAzurite } from '@fieldlink/azure-standins';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import { loadConfig } from '../config/load-config.js';
import { formatDoctor, runDoctor } from './doctor.js';

const serviceBus = new ServiceBusStandin();
const eventHubs = new EventHubsStandin();
let azurite: RunningAzurite;
const hubName = `hub-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  [azurite] = await Promise.all([startAzurite(), serviceBus.start(), eventHubs.start()]);
  eventHubs.createHub(hubName, { partitionCount: 2, consumerGroups: ['rulescg'] });
}, 60_000);
afterAll(async () => {
  await Promise.all([serviceBus.stop(), eventHubs.stop(), azurite?.stop()]);
}, 60_000);

const configOf = (env: Record<string, string>): FieldlinkConfig => {
  const loaded = loadConfig({
    env: {
      FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus',
      FIELDLINK_PORTS_OUTBOUND_QUEUE: 'service-bus',
      FIELDLINK_PORTS_TELEMETRY: 'event-hubs',
      FIELDLINK_PORTS_REFERENCE_DATA: 'blob',
      FIELDLINK_SERVICE_BUS_CONNECTION_STRING: serviceBus.connectionString,
      FIELDLINK_EVENT_HUBS_CONNECTION_STRING: eventHubs.connectionString(hubName),
      FIELDLINK_BLOB_CONNECTION_STRING: azurite.connectionString,
      ...env,
    },
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
};

// Real sockets and a child process (Azurite) on a busy machine: more time than the project's default.
describe('fieldlink doctor against the stand-ins', { timeout: 60_000 }, () => {
  it('passes what is there and names each missing queue, consumer group and container, one line each', async () => {
    const alerts = `alerts-${randomUUID().slice(0, 6)}`;
    serviceBus.createQueue(alerts);
    const checks = await runDoctor(
      configOf({
        FIELDLINK_SERVICE_BUS_ALERTS_QUEUE: alerts,
        FIELDLINK_SERVICE_BUS_OUTBOUND_QUEUE: 'no-such-queue',
        FIELDLINK_BLOB_REFERENCE_DATA_CONTAINER: 'no-such-container',
      }),
    );
    const byService = Object.fromEntries(checks.map((c) => [c.service, c.problems]));
    expect(byService['service-bus']).toEqual([expect.stringMatching(/^queue 'no-such-queue': .*could not be found/i)]);
    expect(byService['event-hubs']).toEqual([expect.stringContaining(`consumer group 'repliescg' does not exist on the event hub '${hubName}'`)]);
    expect(byService['blob']).toEqual(["container 'no-such-container' does not exist"]);
    const report = formatDoctor(checks);
    expect(report.split('\n').filter((l) => l.startsWith('✘'))).toHaveLength(3);
    expect(report).toMatch(/3 problems found\.$/);
    expect(report).not.toContain(serviceBus.connectionString.match(/SharedAccessKey=([^;]+)/)![1]);
  });

  it('passes a configuration whose services all answer as configured', async () => {
    eventHubs.createHub(`${hubName}-ok`, { partitionCount: 1, consumerGroups: ['rulescg', 'repliescg'] });
    serviceBus.createQueue('alerts-ok');
    serviceBus.createQueue('outbound-ok');
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('devicerules-ok').createIfNotExists();
    const checks = await runDoctor(
      configOf({
        FIELDLINK_EVENT_HUBS_CONNECTION_STRING: eventHubs.connectionString(`${hubName}-ok`),
        FIELDLINK_SERVICE_BUS_ALERTS_QUEUE: 'alerts-ok',
        FIELDLINK_SERVICE_BUS_OUTBOUND_QUEUE: 'outbound-ok',
        FIELDLINK_BLOB_REFERENCE_DATA_CONTAINER: 'devicerules-ok',
      }),
    );
    expect(checks.map((c) => [c.service, c.problems])).toEqual([
      ['service-bus', []],
      ['event-hubs', []],
      ['blob', []],
    ]);
    expect(formatDoctor(checks)).toMatch(/All 3 services answer as configured\.$/);
  });

  it('names a key the namespace does not accept, without showing it', async () => {
    const wrongKey = Buffer.from('not-the-key-of-this-namespace').toString('base64');
    const checks = await runDoctor(
      configOf({
        FIELDLINK_SERVICE_BUS_CONNECTION_STRING: serviceBus.connectionString.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${wrongKey}`),
        FIELDLINK_PORTS_TELEMETRY: 'in-memory',
        FIELDLINK_PORTS_REFERENCE_DATA: 'in-memory',
      }),
    );
    expect(checks).toHaveLength(1);
    expect(checks[0]!.problems.length).toBeGreaterThan(0);
    expect(checks[0]!.problems.join('\n')).toMatch(/unauthori[sz]ed|InvalidSignature|not authorized/i);
    expect(formatDoctor(checks)).not.toContain(wrongKey);
  });
});
