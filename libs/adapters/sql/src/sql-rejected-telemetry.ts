import type { RejectedTelemetry, RejectedTelemetryPort } from '@fieldlink/ports';
import type { Kysely } from 'kysely';
import type { SqlDatabase, SqlEngine, StatusSchema } from './sql-database.js';
import { fromDbBytes, fromDbTime, toDbBytes, toDbTime } from './sql-values.js';

/**
 * Rejected telemetry in the `rejectedtelemetry` table: every reject kept with its raw body (the
 * bytes exactly), its envelope, reason and description, in the order rejected.
 */
export class SqlRejectedTelemetry implements RejectedTelemetryPort {
  private readonly db: Kysely<StatusSchema>;
  private readonly engine: SqlEngine;

  constructor(database: SqlDatabase) {
    this.db = database.db;
    this.engine = database.engine;
  }

  async reject(rejected: RejectedTelemetry): Promise<void> {
    const { envelope } = rejected;
    await this.db
      .insertInto('rejectedtelemetry')
      .values({
        deviceid: envelope.connectionDeviceId,
        enqueuedtime: toDbTime(this.engine, envelope.enqueuedTime),
        partitionid: envelope.partitionId,
        sequencenumber: envelope.sequenceNumber,
        properties: envelope.properties === undefined ? null : JSON.stringify(envelope.properties),
        body: toDbBytes(envelope.body),
        reason: rejected.reason,
        description: rejected.description,
      })
      .execute();
  }

  /** The most recent `maxItems`, oldest first. */
  async list(maxItems: number): Promise<RejectedTelemetry[]> {
    const count = Math.max(0, Math.floor(maxItems));
    if (count === 0) return [];
    const base = this.db.selectFrom('rejectedtelemetry').selectAll().orderBy('id', 'desc');
    const rows = await (this.engine === 'mssql' ? base.top(count) : base.limit(count)).execute();
    return rows.reverse().map((r) => ({
      envelope: {
        body: fromDbBytes(r.body),
        connectionDeviceId: r.deviceid,
        enqueuedTime: fromDbTime(r.enqueuedtime),
        partitionId: r.partitionid,
        sequenceNumber: Number(r.sequencenumber),
        ...(r.properties === null ? {} : { properties: JSON.parse(r.properties) as Record<string, string> }),
      },
      reason: r.reason,
      description: r.description,
    }));
  }
}
