import type { SqlEngine } from './sql-database.js';
import { SqlAdapterError } from './sql-adapter-error.js';

/** An instant as the engine keeps it: ISO-8601 UTC text on SQLite (it sorts as time does), a Date elsewhere. */
export const toDbTime = (engine: SqlEngine, epochMs: number): Date | string => (engine === 'sqlite' ? new Date(epochMs).toISOString() : new Date(epochMs));

/** Epoch ms of an instant read back (a Date from PostgreSQL and SQL Server, ISO text from SQLite). */
export function fromDbTime(value: Date | string): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new SqlAdapterError('UnreadableValue', `A stored time is not a time: ${String(value)}`);
  return ms;
}

/** Rows per multi-row statement: SQL Server takes at most 2,100 parameters a statement, the others far more. */
export const rowsPerStatement = (engine: SqlEngine, columns: number): number => (engine === 'mssql' ? Math.floor(2_000 / columns) : 500);

/** Bytes as the drivers bind them (a Buffer over the same memory, no copy). */
export const toDbBytes = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Bytes read back, as a plain Uint8Array of their own. */
export const fromDbBytes = (value: Uint8Array): Uint8Array => new Uint8Array(value);
