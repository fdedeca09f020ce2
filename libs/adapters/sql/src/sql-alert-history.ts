import type { ThresholdAlert } from '@fieldlink/domain';
import type { Kysely } from 'kysely';
import type { SqlDatabase, SqlEngine, StatusSchema } from './sql-database.js';
import { fromDbTime, rowsPerStatement, toDbTime } from './sql-values.js';

/**
 * The alerts stream processing raised, as they left for the CRM (the CFS alert message's seven
 * fields), in `alerthistory`: one row per event token, reading type and rule output, so an alert
 * recorded again (a batch read again after a restart) stays one row.
 */
export class SqlAlertHistory {
  private readonly db: Kysely<StatusSchema>;
  private readonly engine: SqlEngine;

  constructor(database: SqlDatabase) {
    this.db = database.db;
    this.engine = database.engine;
  }

  async record(alerts: readonly ThresholdAlert[]): Promise<void> {
    const byKey = new Map<string, ThresholdAlert>();
    for (const a of alerts) byKey.set(`${a.eventToken}\n${a.readingType}\n${a.ruleOutput}`, a);
    const rows = [...byKey.values()].map((a) => ({
      eventtoken: a.eventToken,
      deviceid: a.deviceId,
      readingtype: a.readingType,
      reading: a.reading,
      threshold: a.threshold,
      ruleoutput: a.ruleOutput,
      time: toDbTime(this.engine, a.time),
    }));
    const size = rowsPerStatement(this.engine, 7);
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += size) {
        const chunk = rows.slice(i, i + size);
        if (this.engine === 'mssql') {
          await trx
            .deleteFrom('alerthistory')
            .where((eb) =>
              eb.or(
                chunk.map((r) => eb.and([eb('eventtoken', '=', r.eventtoken), eb('readingtype', '=', r.readingtype), eb('ruleoutput', '=', r.ruleoutput)])),
              ),
            )
            .execute();
          await trx.insertInto('alerthistory').values(chunk).execute();
        } else {
          await trx
            .insertInto('alerthistory')
            .values(chunk)
            .onConflict((oc) => oc.columns(['eventtoken', 'readingtype', 'ruleoutput']).doNothing())
            .execute();
        }
      }
    });
  }

  /** A device's alerts with time in [from, to), oldest first. */
  async list(deviceId: string, from: number, to: number): Promise<ThresholdAlert[]> {
    const rows = await this.db
      .selectFrom('alerthistory')
      .selectAll()
      .where('deviceid', '=', deviceId)
      .where('time', '>=', toDbTime(this.engine, from))
      .where('time', '<', toDbTime(this.engine, to))
      .orderBy('time')
      .orderBy('eventtoken')
      .execute();
    return rows.map((r) => ({
      deviceId: r.deviceid,
      readingType: r.readingtype,
      reading: Number(r.reading),
      eventToken: r.eventtoken,
      threshold: Number(r.threshold),
      ruleOutput: r.ruleoutput,
      time: fromDbTime(r.time),
    }));
  }
}
