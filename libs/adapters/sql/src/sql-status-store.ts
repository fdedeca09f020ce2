import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '@fieldlink/ports';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { SqlDatabase, SqlEngine, StatusSchema } from './sql-database.js';
import { fromDbTime, rowsPerStatement, toDbTime } from './sql-values.js';
import { preparedOnSqlite, statementTemplate } from './statement-template.js';

const MINUTE_MS = 60_000;

export interface SqlStatusStoreOptions {
  /**
   * The reading types whose windows become `crmiotevents` rows. The CFS telemetry job writes the
   * temperature only (`'Temperature' AS ReadingType`); a deployment that reports more may list them.
   */
  readonly crmIotEventsReadingTypes?: readonly string[];
}

/**
 * The status store on SQL (SQLite, PostgreSQL, Azure SQL / SQL Server), one schema for all:
 * Fieldlink's per-device per-minute aggregates (`minuteaggregates`) and device health
 * (`devicehealth`), and beside them the CFS `crmiotevents` table a Power BI report reads, one row
 * per device and minute: the window's peak event. A window written again replaces its rows in
 * both tables, in one transaction.
 */
export class SqlStatusStore implements StatusStorePort {
  private readonly db: Kysely<StatusSchema>;
  private readonly engine: SqlEngine;
  private readonly crmReadingTypes: ReadonlySet<string>;
  private readonly sqliteFile: SqlDatabase['sqlite'];

  constructor(database: SqlDatabase, options: SqlStatusStoreOptions = {}) {
    this.db = database.db;
    this.engine = database.engine;
    this.sqliteFile = database.sqlite;
    this.crmReadingTypes = new Set(options.crmIotEventsReadingTypes ?? ['Temperature']);
  }

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    if (rows.length === 0) return;
    // The last row of a key counts, as if the rows were written one after the other.
    const byKey = new Map<string, MinuteAggregate>();
    for (const row of rows) byKey.set(`${row.deviceId}\n${row.readingType}\n${row.windowEnd}`, row);
    const unique = [...byKey.values()];
    if (this.sqliteFile !== undefined) return this.writeAggregatesOnSqlite(unique);
    const size = rowsPerStatement(this.engine, 7);
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < unique.length; i += size) await this.writeAggregateRows(trx, unique.slice(i, i + size));
      const peaks = unique.filter((r) => r.peak !== undefined && this.crmReadingTypes.has(r.readingType));
      for (let i = 0; i < peaks.length; i += size) await this.writeCrmIotEvents(trx, peaks.slice(i, i + size));
    });
  }

  /**
   * SQLite runs in this process: one synchronous transaction of statements Kysely compiled once,
   * a bind and a step per row, costs far less than building a statement of hundreds of rows.
   */
  private writeAggregatesOnSqlite(rows: readonly MinuteAggregate[]): void {
    const t = this.sqliteStatements();
    this.sqliteFile!.transaction(() => {
      for (const r of rows) {
        const windowEnd = toDbTime(this.engine, r.windowEnd);
        t.aggregate({ deviceid: r.deviceId, windowend: windowEnd, readingtype: r.readingType, count: r.count, avg: r.avg, min: r.min, max: r.max });
        if (r.peak === undefined || !this.crmReadingTypes.has(r.readingType)) continue;
        t.crmDelete({ deviceid: r.deviceId, readingtype: r.readingType, from: toDbTime(this.engine, r.windowEnd - MINUTE_MS), to: windowEnd });
        const p = r.peak;
        t.crmInsert({
          deviceid: r.deviceId,
          readingtype: r.readingType,
          reading: r.max,
          eventtoken: p.eventToken,
          threshold: p.threshold,
          ruleoutput: p.ruleOutput,
          time: toDbTime(this.engine, p.time),
        });
      }
    })();
  }

  private sqlitePrepared: Record<'aggregate' | 'crmDelete' | 'crmInsert' | 'health', (values: Readonly<Record<string, unknown>>) => void> | undefined;

  private sqliteStatements() {
    if (this.sqlitePrepared !== undefined) return this.sqlitePrepared;
    const file = this.sqliteFile!;
    this.sqlitePrepared = {
      aggregate: preparedOnSqlite(
        file,
        statementTemplate(['deviceid', 'windowend', 'readingtype', 'count', 'avg', 'min', 'max'], (v) =>
          this.db
            .insertInto('minuteaggregates')
            .values({
              deviceid: v.deviceid as string,
              windowend: v.windowend as string,
              readingtype: v.readingtype as string,
              count: v.count as number,
              avg: v.avg as number,
              min: v.min as number,
              max: v.max as number,
            })
            .onConflict((oc) =>
              oc.columns(['deviceid', 'readingtype', 'windowend']).doUpdateSet((eb) => ({
                count: eb.ref('excluded.count'),
                avg: eb.ref('excluded.avg'),
                min: eb.ref('excluded.min'),
                max: eb.ref('excluded.max'),
              })),
            ),
        ),
      ),
      crmDelete: preparedOnSqlite(
        file,
        statementTemplate(['deviceid', 'readingtype', 'from', 'to'], (v) =>
          this.db
            .deleteFrom('crmiotevents')
            .where('deviceid', '=', v.deviceid as string)
            .where('readingtype', '=', v.readingtype as string)
            .where('time', '>', v.from as string)
            .where('time', '<=', v.to as string),
        ),
      ),
      crmInsert: preparedOnSqlite(
        file,
        statementTemplate(['deviceid', 'readingtype', 'reading', 'eventtoken', 'threshold', 'ruleoutput', 'time'], (v) =>
          this.db.insertInto('crmiotevents').values({
            deviceid: v.deviceid as string,
            readingtype: v.readingtype as string,
            reading: v.reading as number,
            eventtoken: v.eventtoken as string,
            threshold: v.threshold as number,
            ruleoutput: v.ruleoutput as string,
            time: v.time as string,
          }),
        ),
      ),
      health: preparedOnSqlite(
        file,
        statementTemplate(['deviceid', 'lastactivitytime', 'online', 'lastreadings'], (v) =>
          this.db
            .insertInto('devicehealth')
            .values({
              deviceid: v.deviceid as string,
              lastactivitytime: v.lastactivitytime as string,
              online: v.online as number,
              lastreadings: v.lastreadings as string,
            })
            .onConflict((oc) =>
              oc.column('deviceid').doUpdateSet((eb) => ({
                lastactivitytime: eb.ref('excluded.lastactivitytime'),
                online: eb.ref('excluded.online'),
                lastreadings: eb.ref('excluded.lastreadings'),
              })),
            ),
        ),
      ),
    };
    return this.sqlitePrepared;
  }

  private async writeAggregateRows(trx: Transaction<StatusSchema>, rows: readonly MinuteAggregate[]): Promise<void> {
    const values = rows.map((r) => ({
      deviceid: r.deviceId,
      windowend: toDbTime(this.engine, r.windowEnd),
      readingtype: r.readingType,
      count: r.count,
      avg: r.avg,
      min: r.min,
      max: r.max,
    }));
    if (this.engine === 'mssql') {
      // SQL Server has no ON CONFLICT: the rows of the keys go, then come back.
      await trx
        .deleteFrom('minuteaggregates')
        .where((eb) =>
          eb.or(values.map((v) => eb.and([eb('deviceid', '=', v.deviceid), eb('readingtype', '=', v.readingtype), eb('windowend', '=', v.windowend)]))),
        )
        .execute();
      await trx.insertInto('minuteaggregates').values(values).execute();
      return;
    }
    await trx
      .insertInto('minuteaggregates')
      .values(values)
      .onConflict((oc) =>
        oc
          .columns(['deviceid', 'readingtype', 'windowend'])
          .doUpdateSet((eb) => ({ count: eb.ref('excluded.count'), avg: eb.ref('excluded.avg'), min: eb.ref('excluded.min'), max: eb.ref('excluded.max') })),
      )
      .execute();
  }

  /** `crmiotevents` has no window column (CFS writes none): a window's row is the one whose time falls in (end − 1 min, end]. */
  private async writeCrmIotEvents(trx: Transaction<StatusSchema>, rows: readonly MinuteAggregate[]): Promise<void> {
    const inWindow = (eb: ExpressionBuilder<StatusSchema, 'crmiotevents'>, r: MinuteAggregate) =>
      eb.and([
        eb('deviceid', '=', r.deviceId),
        eb('readingtype', '=', r.readingType),
        eb('time', '>', toDbTime(this.engine, r.windowEnd - MINUTE_MS)),
        eb('time', '<=', toDbTime(this.engine, r.windowEnd)),
      ]);
    await trx
      .deleteFrom('crmiotevents')
      .where((eb) => eb.or(rows.map((r) => inWindow(eb, r))))
      .execute();
    await trx
      .insertInto('crmiotevents')
      .values(
        rows.map((r) => ({
          deviceid: r.deviceId,
          readingtype: r.readingType,
          reading: r.max,
          eventtoken: r.peak!.eventToken,
          threshold: r.peak!.threshold,
          ruleoutput: r.peak!.ruleOutput,
          time: toDbTime(this.engine, r.peak!.time),
        })),
      )
      .execute();
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    let query = this.db
      .selectFrom('minuteaggregates')
      .select(['deviceid', 'readingtype', 'windowend', 'count', 'avg', 'min', 'max'])
      .where('deviceid', '=', deviceId);
    if (Number.isFinite(from)) query = query.where('windowend', '>', toDbTime(this.engine, from));
    if (Number.isFinite(to)) query = query.where('windowend', '<=', toDbTime(this.engine, to));
    if (from >= to) return [];
    const rows = await query.orderBy('windowend').orderBy('readingtype').execute();
    return rows.map((r) => ({
      deviceId: r.deviceid,
      readingType: r.readingtype,
      windowEnd: fromDbTime(r.windowend),
      count: Number(r.count),
      min: Number(r.min),
      max: Number(r.max),
      avg: Number(r.avg),
    }));
  }

  async upsertManyDeviceHealth(rows: readonly DeviceHealth[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.sqliteFile === undefined) {
      // The last row of a device counts; then a statement per chunk, one round trip each.
      const byDevice = new Map<string, DeviceHealth>();
      for (const h of rows) byDevice.set(h.deviceId, h);
      const values = [...byDevice.values()].map((h) => this.healthRow(h));
      const size = rowsPerStatement(this.engine, 4);
      await this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < values.length; i += size) {
          const chunk = values.slice(i, i + size);
          if (this.engine === 'mssql') {
            await trx
              .deleteFrom('devicehealth')
              .where(
                'deviceid',
                'in',
                chunk.map((v) => v.deviceid),
              )
              .execute();
            await trx.insertInto('devicehealth').values(chunk).execute();
          } else {
            await trx
              .insertInto('devicehealth')
              .values(chunk)
              .onConflict((oc) =>
                oc.column('deviceid').doUpdateSet((eb) => ({
                  lastactivitytime: eb.ref('excluded.lastactivitytime'),
                  online: eb.ref('excluded.online'),
                  lastreadings: eb.ref('excluded.lastreadings'),
                })),
              )
              .execute();
          }
        }
      });
      return;
    }
    const health = this.sqliteStatements().health;
    this.sqliteFile.transaction(() => {
      for (const h of rows) health(this.healthRow(h));
    })();
  }

  private healthRow(health: DeviceHealth) {
    return {
      deviceid: health.deviceId,
      lastactivitytime: toDbTime(this.engine, health.lastActivityTime),
      online: this.engine === 'sqlite' ? (health.online ? 1 : 0) : health.online,
      lastreadings: JSON.stringify(health.lastReadings),
    };
  }

  async upsertDeviceHealth(health: DeviceHealth): Promise<void> {
    const row = this.healthRow(health);
    if (this.sqliteFile !== undefined) {
      this.sqliteStatements().health(row);
      return;
    }
    if (this.engine === 'mssql') {
      await this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('devicehealth').where('deviceid', '=', row.deviceid).execute();
        await trx.insertInto('devicehealth').values(row).execute();
      });
      return;
    }
    await this.db
      .insertInto('devicehealth')
      .values(row)
      .onConflict((oc) =>
        oc.column('deviceid').doUpdateSet((eb) => ({
          lastactivitytime: eb.ref('excluded.lastactivitytime'),
          online: eb.ref('excluded.online'),
          lastreadings: eb.ref('excluded.lastreadings'),
        })),
      )
      .execute();
  }

  async listDeviceHealth(): Promise<DeviceHealth[]> {
    const rows = await this.db.selectFrom('devicehealth').selectAll().orderBy('deviceid').execute();
    return rows.map((r) => ({
      deviceId: r.deviceid,
      lastActivityTime: fromDbTime(r.lastactivitytime),
      online: Boolean(r.online),
      lastReadings: JSON.parse(r.lastreadings) as Record<string, number>,
    }));
  }
}
