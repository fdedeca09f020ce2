import Database from 'better-sqlite3';
import { Kysely, MssqlDialect, PostgresDialect, SqliteDialect, type Generated } from 'kysely';
import pg from 'pg';
import * as tarn from 'tarn';
import * as tedious from 'tedious';
import { migrateToLatest } from './migrations.js';
import { SqlAdapterError } from './sql-adapter-error.js';

/** The engines one schema runs on. */
export type SqlEngine = 'sqlite' | 'postgres' | 'mssql';

/** The CFS telemetry job's table, column for column (lowercase, as Stream Analytics writes them). */
export interface CrmIotEventsTable {
  deviceid: string;
  readingtype: string;
  reading: number;
  eventtoken: string;
  threshold: number | null;
  ruleoutput: string | null;
  time: Date | string;
}

export interface MinuteAggregatesTable {
  deviceid: string;
  windowend: Date | string;
  readingtype: string;
  count: number;
  avg: number;
  min: number;
  max: number;
}

export interface DeviceHealthTable {
  deviceid: string;
  lastactivitytime: Date | string;
  online: number | boolean;
  lastreadings: string;
}

export interface AlertHistoryTable {
  eventtoken: string;
  deviceid: string;
  readingtype: string;
  reading: number;
  threshold: number | null;
  ruleoutput: string;
  time: Date | string;
}

export interface RejectedTelemetryTable {
  id: Generated<number | string>;
  deviceid: string;
  enqueuedtime: Date | string;
  partitionid: string;
  sequencenumber: number | string;
  properties: string | null;
  body: Uint8Array;
  reason: string;
  description: string;
}

export interface StatusSchema {
  crmiotevents: CrmIotEventsTable;
  minuteaggregates: MinuteAggregatesTable;
  devicehealth: DeviceHealthTable;
  alerthistory: AlertHistoryTable;
  rejectedtelemetry: RejectedTelemetryTable;
}

/** An open database of the status schema, migrated to the latest version. */
export interface SqlDatabase {
  readonly engine: SqlEngine;
  readonly db: Kysely<StatusSchema>;
  /**
   * SQLite only: the file's handle in this process, on which the stores run their hot writes as
   * statements Kysely compiled once, in synchronous transactions (a write of a SQLite store never
   * waits in the middle of a transaction, so two never interleave).
   */
  readonly sqlite?: Database.Database;
  /** Closes the connections (the file, the pool). */
  close(): Promise<void>;
}

export interface SqliteOptions {
  /** The database file; `:memory:` for a database of this process only. */
  readonly file: string;
  /** Write-ahead log, so other processes read while this one writes; on by default for a file. */
  readonly wal?: boolean;
}

/** Opens (creating when missing) a SQLite file and migrates it. */
export async function openSqliteDatabase(options: SqliteOptions): Promise<SqlDatabase> {
  const file = new Database(options.file);
  if (options.file !== ':memory:' && options.wal !== false) file.pragma('journal_mode = WAL');
  // WAL with synchronous NORMAL survives a process crash (only a power loss can undo the last commits).
  file.pragma('synchronous = NORMAL');
  file.pragma('busy_timeout = 5000');
  return { ...(await migrated('sqlite', new Kysely<StatusSchema>({ dialect: new SqliteDialect({ database: file }) }))), sqlite: file };
}

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`; never logged. */
  readonly connectionString: string;
  readonly maxConnections?: number;
}

export async function openPostgresDatabase(options: PostgresOptions): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 4 });
  return migrated('postgres', new Kysely<StatusSchema>({ dialect: new PostgresDialect({ pool }) }));
}

export interface MssqlOptions {
  /**
   * An ADO.NET connection string as the Azure portal shows it
   * (`Server=tcp:<server>.database.windows.net,1433;Initial Catalog=<db>;User ID=<user>;Password=<password>;Encrypt=True;`); never logged.
   */
  readonly connectionString: string;
  readonly maxConnections?: number;
}

/** Opens Azure SQL / SQL Server through tedious and migrates it. */
export async function openMssqlDatabase(options: MssqlOptions): Promise<SqlDatabase> {
  const config = tediousConfig(options.connectionString);
  const dialect = new MssqlDialect({
    tarn: { ...tarn, options: { min: 0, max: options.maxConnections ?? 4 } },
    tedious: { ...tedious, connectionFactory: () => new tedious.Connection(config) },
  });
  return migrated('mssql', new Kysely<StatusSchema>({ dialect }));
}

async function migrated(engine: SqlEngine, db: Kysely<StatusSchema>): Promise<SqlDatabase> {
  try {
    await migrateToLatest(db, engine);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { engine, db, close: () => db.destroy() };
}

/** Reads an ADO.NET connection string into tedious' configuration; an unusable one is refused naming the missing key (never its value). */
export function tediousConfig(connectionString: string): tedious.ConnectionConfiguration {
  const entries = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    entries.set(part.slice(0, at).trim().toLowerCase().replace(/\s+/g, ' '), part.slice(at + 1).trim());
  }
  const first = (...keys: string[]) => keys.map((k) => entries.get(k)).find((v) => v !== undefined && v !== '');
  const server = first('server', 'data source', 'address', 'addr');
  const database = first('initial catalog', 'database');
  const user = first('user id', 'uid', 'user');
  const password = first('password', 'pwd') ?? '';
  if (server === undefined) throw new SqlAdapterError('Misconfigured', 'The SQL Server connection string has no Server.');
  if (user === undefined) throw new SqlAdapterError('Misconfigured', 'The SQL Server connection string has no User ID.');
  const [hostPart, portPart] = server.replace(/^tcp:/i, '').split(',');
  const port = portPart === undefined ? 1433 : Number(portPart);
  if (!Number.isInteger(port)) throw new SqlAdapterError('Misconfigured', 'The SQL Server connection string has a port that is not a number.');
  const encrypt = (first('encrypt') ?? 'true').toLowerCase() !== 'false';
  const trust = (first('trustservercertificate') ?? 'false').toLowerCase() === 'true';
  return {
    server: hostPart!.trim(),
    authentication: { type: 'default', options: { userName: user, password } },
    options: { port, database, encrypt, trustServerCertificate: trust, useUTC: true },
  };
}
