import Database from 'better-sqlite3';

export type SqliteFile = Database.Database;

/**
 * Opens a SQLite file the way every store of a data directory shares it: WAL mode (readers in
 * other processes go on while one process writes), synchronous NORMAL (a committed transaction
 * survives the process being killed), and a busy timeout so that two processes writing at once
 * wait for each other instead of failing.
 */
export function openSqliteFile(file: string): SqliteFile {
  const db = new Database(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  return db;
}
