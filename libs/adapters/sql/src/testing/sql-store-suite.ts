import { rejectedTelemetryConformance, statusStoreConformance, uniqueDeviceId } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlAlertHistory } from '../sql-alert-history.js';
import type { SqlDatabase } from '../sql-database.js';
import { SqlRejectedTelemetry } from '../sql-rejected-telemetry.js';
import { SqlStatusStore } from '../sql-status-store.js';
import { fromDbTime } from '../sql-values.js';

/** A new database with the latest schema and no rows. */
export type SqlDatabaseFactory = () => Promise<SqlDatabase>;

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-28T09:15:00Z');

/**
 * What the SQL adapters must do on every engine: the ports' conformance suites, then what the
 * tables hold for the readers beside Fieldlink (a Power BI report on `crmiotevents`).
 */
export function sqlStoreSuite(engineName: string, open: SqlDatabaseFactory): void {
  statusStoreConformance(`SqlStatusStore on ${engineName}`, async () => {
    const database = await open();
    return { store: new SqlStatusStore(database), dispose: () => database.close() };
  });

  rejectedTelemetryConformance(`SqlRejectedTelemetry on ${engineName}`, async () => {
    const database = await open();
    return { rejected: new SqlRejectedTelemetry(database), dispose: () => database.close() };
  });

  describe(`the SQL tables on ${engineName}`, () => {
    let database: SqlDatabase | undefined;
    const fresh = async () => (database = await open());
    afterEach(async () => {
      await database?.close();
      database = undefined;
    });
    const crmRows = async (db: SqlDatabase, deviceId: string) =>
      (await db.db.selectFrom('crmiotevents').selectAll().where('deviceid', '=', deviceId).orderBy('time').execute()).map((r) => ({
        ...r,
        time: fromDbTime(r.time),
        reading: Number(r.reading),
        threshold: r.threshold === null ? null : Number(r.threshold),
      }));
    const peakRow = (deviceId: string, readingType: string, windowEnd: number, max: number, eventToken: string, time: number) => ({
      deviceId,
      readingType,
      windowEnd,
      count: 2,
      min: max - 4,
      max,
      avg: max - 2,
      peak: { eventToken, time, threshold: 70, ruleOutput: 'AlarmTemp' },
    });

    it('writes crmiotevents as the CFS telemetry job does: per device and minute, the peak event with its rule, in the seven CFS columns', async () => {
      const db = await fresh();
      const store = new SqlStatusStore(db);
      const deviceId = uniqueDeviceId('thermostat');
      await store.writeAggregates([
        peakRow(deviceId, 'Temperature', T0, 81.5, 'token-a', T0 - 20_000),
        peakRow(deviceId, 'Temperature', T0 + MINUTE, 72, 'token-b', T0 + MINUTE),
      ]);
      const rows = await crmRows(db, deviceId);
      expect(rows).toEqual([
        { deviceid: deviceId, readingtype: 'Temperature', reading: 81.5, eventtoken: 'token-a', threshold: 70, ruleoutput: 'AlarmTemp', time: T0 - 20_000 },
        { deviceid: deviceId, readingtype: 'Temperature', reading: 72, eventtoken: 'token-b', threshold: 70, ruleoutput: 'AlarmTemp', time: T0 + MINUTE },
      ]);
      expect(Object.keys(rows[0]!).sort()).toEqual(['deviceid', 'eventtoken', 'reading', 'readingtype', 'ruleoutput', 'threshold', 'time']);
    });

    it('replaces the crmiotevents row of a window written again, leaving the neighbouring windows', async () => {
      const db = await fresh();
      const store = new SqlStatusStore(db);
      const deviceId = uniqueDeviceId('thermostat');
      await store.writeAggregates([
        peakRow(deviceId, 'Temperature', T0, 71, 'early', T0 - 50_000),
        peakRow(deviceId, 'Temperature', T0 + MINUTE, 75, 'next', T0 + 30_000),
      ]);
      await store.writeAggregates([peakRow(deviceId, 'Temperature', T0, 79, 'later', T0 - 1_000)]);
      expect((await crmRows(db, deviceId)).map((r) => [r.eventtoken, r.reading])).toEqual([
        ['later', 79],
        ['next', 75],
      ]);
      expect((await store.queryAggregates(deviceId, T0 - MINUTE, T0)).map((r) => r.max)).toEqual([79]);
    });

    it('writes crmiotevents rows for the temperature only (as CFS), or the reading types it is given; rows without a peak write none', async () => {
      const db = await fresh();
      const deviceId = uniqueDeviceId('thermostat');
      const humidity = peakRow(deviceId, 'Humidity', T0, 45, 'h', T0 - 10_000);
      const { peak: _peak, ...noPeak } = peakRow(deviceId, 'Temperature', T0 + MINUTE, 60, 'x', T0 + 10_000);
      await new SqlStatusStore(db).writeAggregates([humidity, noPeak]);
      expect(await crmRows(db, deviceId)).toEqual([]);
      await new SqlStatusStore(db, { crmIotEventsReadingTypes: ['Temperature', 'Humidity'] }).writeAggregates([humidity]);
      expect((await crmRows(db, deviceId)).map((r) => r.readingtype)).toEqual(['Humidity']);
    });

    it('keeps one alert history row per event token, reading type and rule output', async () => {
      const db = await fresh();
      const history = new SqlAlertHistory(db);
      const deviceId = uniqueDeviceId('thermostat');
      const alert = { deviceId, readingType: 'Temperature', reading: 81.5, eventToken: 'tok-1', threshold: 70, ruleOutput: 'AlarmTemp', time: T0 + 1_500 };
      await history.record([alert]);
      await history.record([alert, { ...alert, eventToken: 'tok-2', time: T0 + 2 * MINUTE }]);
      expect(await history.list(deviceId, T0, T0 + MINUTE)).toEqual([alert]);
      expect((await history.list(deviceId, T0, T0 + 10 * MINUTE)).map((a) => a.eventToken)).toEqual(['tok-1', 'tok-2']);
    });
  });
}
