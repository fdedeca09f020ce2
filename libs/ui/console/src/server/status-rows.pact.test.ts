// Consumer side of flow 5: what the console's status view needs of the rows stream processing
// writes to the status store, the per-minute aggregates (the CFS crmiotevents table Power BI
// reads) and device health. No wire carries them today, but a deployment may put them in a table
// of its own; the pact pins the row shape, and the stream processor's ingest verifies it. The
// example readings are the CFS telemetry fixture's device, at the CFS alert fixture's time.
import { aCrmDevice } from '@fieldlink/ports/testing';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryCrm, InMemoryDeviceRegistry, InMemoryStatusStore, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, HUB_DEVICE_ID_PATTERN, RegistrationStatus } from '@fieldlink/domain';
import { AlertActions, CommandRequests, DeviceRegistrations, deviceTypeCommandCatalog } from '@fieldlink/flows';
import {
  decodeDeviceHealthRow,
  decodeMinuteAggregateRow,
  silentLog,
  type DeviceHealth,
  type LogPort,
  type MinuteAggregate,
  type StatusStorePort,
} from '@fieldlink/ports';
import type { WebServerHandle } from '@fieldlink/ui-web-kit';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleServer } from './console-server.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { boolean, eachLike, integer, like, number, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../../contracts/pacts/', import.meta.url));
const cfs = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8'));
const telemetry = cfs('telemetry.thermostat.json') as { DeviceID: string; Temperature: number; Humidity: number };
const [cfsAlert] = cfs('alerts-queue.message.json') as Array<{ time: string }>;

/** Two readings of one device within the minute that ends at 09:16:00Z: the fixture's, and a cooler one. */
const first = { Temperature: telemetry.Temperature, Humidity: telemetry.Humidity, enqueuedTime: cfsAlert!.time };
const second = { Temperature: 72, Humidity: 43, enqueuedTime: '2026-11-28T09:15:31.000Z' };
const readingsState = { deviceId: telemetry.DeviceID, readings: [first, second] };
const WINDOW_END = Date.parse('2026-11-28T09:16:00Z');

const pact = new PactV4({ consumer: 'fieldlink-console', provider: 'fieldlink-stream-processor', dir: PACTS, logLevel: 'error' });

const capturingLog = (): LogPort & { warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (event) => void warnings.push(event), error: (event) => void warnings.push(event) };
};

let server: WebServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The real console server on loopback over this status store, its clock a minute after the window. */
async function consoleOver(statusStore: StatusStorePort, log: LogPort): Promise<string> {
  const crm = new InMemoryCrm(new SequentialIds('rec'));
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-1', deviceId: telemetry.DeviceID, name: 'Lobby' }));
  const commands = new CommandRequests({ crm, catalog: deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES), log: silentLog, defaultDeviceType: 'Thermostat' });
  server = await startConsoleServer({
    crm,
    statusStore,
    alertActions: new AlertActions({ crm, commands, log: silentLog }),
    registrations: new DeviceRegistrations({ crm, registry: new InMemoryDeviceRegistry(), log: silentLog }),
    deviceTypes: BUILT_IN_DEVICE_TYPES,
    clock: new ManualClock(WINDOW_END + 60_000),
    port: 0,
    log,
  });
  return server.url;
}

const decodedOrThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!decoded.ok) throw new Error(`the pact's example is not a status row: ${JSON.stringify(decoded.error)}`);
  return decoded.value;
};

describe('console ← stream processor (flow 5)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-console-fieldlink-stream-processor.json`, { force: true }));

  it('draws the chart of a device from the per-minute aggregate rows as the store holds them', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat sent readings within one minute', readingsState)
      .expectsToReceive('the per-device per-minute aggregates', (b) =>
        b.withJSONContent(
          eachLike({
            deviceId: regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID),
            readingType: like('Temperature'),
            windowEnd: integer(WINDOW_END),
            count: integer(2),
            min: number(72),
            max: number(86),
            avg: number(79),
          }),
        ),
      )
      .executeTest(async (message) => {
        const rows = message.contents.content as unknown[];
        const statusStore = new InMemoryStatusStore();
        // The rows go into the store as they came, unread: the console's own reading is under test.
        await statusStore.writeAggregates(rows as MinuteAggregate[]);
        const log = capturingLog();
        const url = await consoleOver(statusStore, log);
        const chart = (await (await fetch(`${url}api/devices/${encodeURIComponent(telemetry.DeviceID)}/aggregates?minutes=60`)).json()) as {
          rows: MinuteAggregate[];
        };
        expect(chart.rows).toEqual(rows.map((r) => decodedOrThrow(decodeMinuteAggregateRow(r))));
        expect(chart.rows).toContainEqual({
          deviceId: telemetry.DeviceID,
          readingType: 'Temperature',
          windowEnd: WINDOW_END,
          count: 2,
          min: 72,
          max: 86,
          avg: 79,
        });
        expect(log.warnings).toEqual([]);
      });
  });

  it('shows a device online with its last activity and last readings from its health row', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat sent readings within one minute', readingsState)
      .expectsToReceive('the health of a device', (b) =>
        b.withJSONContent(
          eachLike({
            deviceId: regex(HUB_DEVICE_ID_PATTERN.source, telemetry.DeviceID),
            lastActivityTime: integer(Date.parse(second.enqueuedTime)),
            online: boolean(true),
            lastReadings: like({ Temperature: second.Temperature, Humidity: second.Humidity }),
          }),
        ),
      )
      .executeTest(async (message) => {
        const rows = message.contents.content as unknown[];
        const statusStore = new InMemoryStatusStore();
        for (const row of rows) await statusStore.upsertDeviceHealth(row as DeviceHealth);
        const log = capturingLog();
        const url = await consoleOver(statusStore, log);
        const snapshot = (await (await fetch(`${url}api/snapshot`)).json()) as { devices: Array<Record<string, unknown>> };
        const [health] = rows.map((r) => decodedOrThrow(decodeDeviceHealthRow(r)));
        expect(snapshot.devices).toEqual([
          {
            deviceId: telemetry.DeviceID,
            deviceRecordId: 'dev-1',
            name: 'Lobby',
            deviceType: 'Thermostat',
            registration: { value: RegistrationStatus.Registered, label: 'Registered' },
            online: true,
            lastActivityTime: health!.lastActivityTime,
            lastReadings: health!.lastReadings,
          },
        ]);
        expect(health).toEqual({
          deviceId: telemetry.DeviceID,
          lastActivityTime: Date.parse(second.enqueuedTime),
          online: true,
          lastReadings: { Temperature: 72, Humidity: 43 },
        });
        expect(log.warnings).toEqual([]);
      });
  });
});
