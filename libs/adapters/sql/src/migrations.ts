import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type RawBuilder } from 'kysely';
import type { SqlEngine } from './sql-database.js';
import { SqlAdapterError } from './sql-adapter-error.js';

/** The column types of one engine: the schema is the same on each, in the engine's own words. */
export interface ColumnTypes {
  /** A bounded string (an id, a name). */
  str(length: number): RawBuilder<unknown>;
  /** Unbounded text (JSON, descriptions). */
  readonly text: RawBuilder<unknown>;
  /** A 64-bit float. */
  readonly float: RawBuilder<unknown>;
  readonly int: RawBuilder<unknown>;
  readonly bigint: RawBuilder<unknown>;
  /** A UTC instant to the millisecond. */
  readonly time: RawBuilder<unknown>;
  readonly bool: RawBuilder<unknown>;
  readonly bytes: RawBuilder<unknown>;
}

export function columnTypes(engine: SqlEngine): ColumnTypes {
  switch (engine) {
    case 'sqlite':
      // SQLite keeps an instant as ISO-8601 text in UTC (`2026-11-28T09:15:00.000Z`): it sorts and compares as time does.
      return {
        str: () => sql`text`,
        text: sql`text`,
        float: sql`real`,
        int: sql`integer`,
        bigint: sql`integer`,
        time: sql`text`,
        bool: sql`integer`,
        bytes: sql`blob`,
      };
    case 'postgres':
      return {
        str: (n) => sql.raw(`varchar(${n})`),
        text: sql`text`,
        float: sql`double precision`,
        int: sql`integer`,
        bigint: sql`bigint`,
        time: sql`timestamptz(3)`,
        bool: sql`boolean`,
        bytes: sql`bytea`,
      };
    case 'mssql':
      return {
        str: (n) => sql.raw(`nvarchar(${n})`),
        text: sql`nvarchar(max)`,
        float: sql`float`,
        int: sql`int`,
        bigint: sql`bigint`,
        time: sql`datetime2(3)`,
        bool: sql`bit`,
        bytes: sql`varbinary(max)`,
      };
  }
}

/** Ids and names: an IoT Hub device id is at most 128 characters; an event token is usually a GUID. */
const ID = 128;
const TOKEN = 256;

/** The schema's versions, oldest first; a database is moved to the latest when opened. Never edit one that shipped: add the next. */
export function statusMigrations(engine: SqlEngine): Record<string, Migration> {
  const t = columnTypes(engine);
  return {
    '0001-status-store': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The CFS telemetry job's table, exactly: per device and one-minute tumbling window, the event with the highest reading.
        await db.schema
          .createTable('crmiotevents')
          .addColumn('deviceid', t.str(ID), (c) => c.notNull())
          .addColumn('readingtype', t.str(ID), (c) => c.notNull())
          .addColumn('reading', t.float, (c) => c.notNull())
          .addColumn('eventtoken', t.str(TOKEN), (c) => c.notNull())
          .addColumn('threshold', t.float)
          .addColumn('ruleoutput', t.str(ID))
          .addColumn('time', t.time, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('crmiotevents_deviceid_time').on('crmiotevents').columns(['deviceid', 'time']).execute();

        await db.schema
          .createTable('minuteaggregates')
          .addColumn('deviceid', t.str(ID), (c) => c.notNull())
          .addColumn('windowend', t.time, (c) => c.notNull())
          .addColumn('readingtype', t.str(ID), (c) => c.notNull())
          .addColumn('count', t.int, (c) => c.notNull())
          .addColumn('avg', t.float, (c) => c.notNull())
          .addColumn('min', t.float, (c) => c.notNull())
          .addColumn('max', t.float, (c) => c.notNull())
          .addPrimaryKeyConstraint('minuteaggregates_pk', ['deviceid', 'readingtype', 'windowend'])
          .execute();
        await db.schema.createIndex('minuteaggregates_deviceid_windowend').on('minuteaggregates').columns(['deviceid', 'windowend']).execute();

        await db.schema
          .createTable('devicehealth')
          .addColumn('deviceid', t.str(ID), (c) => c.primaryKey())
          .addColumn('lastactivitytime', t.time, (c) => c.notNull())
          .addColumn('online', t.bool, (c) => c.notNull())
          .addColumn('lastreadings', t.text, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('alerthistory')
          .addColumn('eventtoken', t.str(TOKEN), (c) => c.notNull())
          .addColumn('deviceid', t.str(ID), (c) => c.notNull())
          .addColumn('readingtype', t.str(ID), (c) => c.notNull())
          .addColumn('reading', t.float, (c) => c.notNull())
          .addColumn('threshold', t.float, (c) => c.notNull())
          .addColumn('ruleoutput', t.str(ID), (c) => c.notNull())
          .addColumn('time', t.time, (c) => c.notNull())
          .addPrimaryKeyConstraint('alerthistory_pk', ['eventtoken', 'readingtype', 'ruleoutput'])
          .execute();
        await db.schema.createIndex('alerthistory_deviceid_time').on('alerthistory').columns(['deviceid', 'time']).execute();

        await db.schema
          .createTable('rejectedtelemetry')
          .addColumn('id', engine === 'sqlite' ? sql`integer` : t.bigint, (c) => {
            const key = c.primaryKey();
            if (engine === 'sqlite') return key.autoIncrement();
            if (engine === 'postgres') return key.generatedAlwaysAsIdentity();
            return key.identity();
          })
          // Text without bound: a reject is kept whatever its envelope held.
          .addColumn('deviceid', t.text, (c) => c.notNull())
          .addColumn('enqueuedtime', t.time, (c) => c.notNull())
          .addColumn('partitionid', t.text, (c) => c.notNull())
          .addColumn('sequencenumber', t.bigint, (c) => c.notNull())
          .addColumn('properties', t.text)
          .addColumn('body', t.bytes, (c) => c.notNull())
          .addColumn('reason', t.text, (c) => c.notNull())
          .addColumn('description', t.text, (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of ['rejectedtelemetry', 'alerthistory', 'devicehealth', 'minuteaggregates', 'crmiotevents'])
          await db.schema.dropTable(table).execute();
      },
    },
  };
}

class StaticMigrations implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/** Moves the database to the latest schema (several processes may try at once: Kysely's lock makes one do it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>, engine: SqlEngine): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrations(statusMigrations(engine)),
    migrationTableName: 'fieldlink_migration',
    migrationLockTableName: 'fieldlink_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'the migration table';
    throw new SqlAdapterError(
      'MigrationFailed',
      `The status store's schema could not be migrated at ${failed}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}
