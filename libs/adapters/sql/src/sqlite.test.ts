import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueDeviceId } from '@fieldlink/ports/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteDatabase } from './sql-database.js';
import { SqlStatusStore } from './sql-status-store.js';
import { sqlStoreSuite } from './testing/sql-store-suite.js';

sqlStoreSuite('SQLite', () => openSqliteDatabase({ file: ':memory:' }));

describe('the SQLite status store file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fieldlink-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its rows across a reopen, in WAL mode, and migrates an existing file without change', async () => {
    const file = join(dir, 'status.db');
    const deviceId = uniqueDeviceId('thermostat');
    const first = await openSqliteDatabase({ file });
    await new SqlStatusStore(first).upsertDeviceHealth({ deviceId, lastActivityTime: 1_000, online: true, lastReadings: { Temperature: 70 } });
    await first.close();
    const again = await openSqliteDatabase({ file });
    onTestFinished(() => again.close());
    expect(await new SqlStatusStore(again).listDeviceHealth()).toEqual([
      { deviceId, lastActivityTime: 1_000, online: true, lastReadings: { Temperature: 70 } },
    ]);
    const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(again.db);
    expect(rows[0]?.journal_mode).toBe('wal');
  });
});
