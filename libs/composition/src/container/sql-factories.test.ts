import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKENS } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { createStreamProcessor } from '../runtime/create-runtimes.js';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the durable profile', () => {
  it('puts the queues, status store, rule state and the emulator on SQLite, below a file, the environment and options', () => {
    const loaded = loadConfig({ env: {}, defaults: { profile: 'durable' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    expect(loaded.value.ports).toMatchObject({
      alertsQueue: 'sqlite',
      outboundQueue: 'sqlite',
      statusStore: 'sqlite',
      ruleStateStore: 'sqlite',
      crm: 'dataverse',
      telemetry: 'sqlite',
      deviceRegistry: 'sqlite',
      cloudToDevice: 'sqlite',
      deviceClient: 'sqlite',
    });
    expect(loaded.value.dataverse.embedded).toBe(true);
    expect(loaded.value.storage.dataDir).toBe('.fieldlink');
    // A profile of the environment wins over the command's default.
    expect(loadConfig({ env: { FIELDLINK_PROFILE: 'embedded' }, defaults: { profile: 'durable' } })).toMatchObject({
      ok: true,
      value: { profile: 'embedded', ports: { statusStore: 'in-memory' } },
    });
  });

  it('asks for the connection string of a SQL status store on a server, from the environment only', () => {
    expect(loadConfig({ env: { FIELDLINK_PORTS_STATUS_STORE: 'postgres' } })).toMatchObject({
      ok: false,
      error: [{ path: 'storage.postgresConnectionString', message: expect.stringContaining('set FIELDLINK_STORAGE_POSTGRES_CONNECTION_STRING') }],
    });
    expect(loadConfig({ env: { FIELDLINK_PORTS_STATUS_STORE: 'azure-sql' } })).toMatchObject({
      ok: false,
      error: [{ path: 'storage.azureSqlConnectionString' }],
    });
  });

  it('builds the stream processor on SQLite files of the data directory, rejected telemetry beside the status store, and lets go of them at stop', async () => {
    const dataDir = join(dir, 'state');
    const loaded = loadConfig({ env: { FIELDLINK_STORAGE_DATA_DIR: dataDir }, defaults: { profile: 'durable' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    const created = await createStreamProcessor(loaded.value);
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const runtime = created.value;
    // Loaded as the factories load it: on use.
    const { SqliteQueue, SqliteRuleStateStore, SqlRejectedTelemetry, SqlStatusStore } = await import('@fieldlink/adapter-sql');
    expect((runtime.get(TOKENS.AlertsQueue) as unknown as { queue: unknown }).queue).toBeInstanceOf(SqliteQueue);
    expect(runtime.get(TOKENS.StatusStore)).toBeInstanceOf(SqlStatusStore);
    expect(runtime.get(TOKENS.RuleStateStore)).toBeInstanceOf(SqliteRuleStateStore);
    expect(runtime.get(TOKENS.RejectedTelemetry)).toBeInstanceOf(SqlRejectedTelemetry);
    await runtime.start();
    await runtime.stop();
    expect(readdirSync(dataDir).sort()).toEqual(['hub.db', 'queues.db', 'rulestate.db', 'status.db']);
    // Closed cleanly: SQLite folded its write-ahead logs back into the files.
    expect(existsSync(join(dataDir, 'queues.db-wal'))).toBe(false);
  });

  it('records every alert the stream processor sends in the alert history of the status database, once, beside the alert message on the queue', async () => {
    const dataDir = join(dir, 'history');
    const loaded = loadConfig({ env: { FIELDLINK_STORAGE_DATA_DIR: dataDir }, defaults: { profile: 'durable' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    const created = await createStreamProcessor(loaded.value);
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const runtime = created.value;
    await runtime.start();
    const { openSqliteDatabase, SqlAlertHistory, SqliteQueue } = await import('@fieldlink/adapter-sql');
    const database = await openSqliteDatabase({ file: join(dataDir, 'status.db') });
    try {
      const devices = runtime.get(TOKENS.DeviceTelemetry);
      const reading = (temperature: number, token: string) =>
        new TextEncoder().encode(JSON.stringify({ DeviceID: 'thermostat-9', Temperature: temperature, Humidity: 40, EventToken: token }));
      await devices.send('thermostat-9', reading(64, 'below'));
      await devices.send('thermostat-9', reading(86.5, 'over-1'));
      await devices.send('thermostat-9', reading(91, 'over-2'));
      const history = new SqlAlertHistory(database);
      await eventually(
        async () =>
          expect((await history.list('thermostat-9', 0, Date.now() + 60_000)).map((a) => [a.eventToken, a.reading, a.ruleOutput])).toEqual([
            ['over-1', 86.5, 'AlarmTemp'],
            ['over-2', 91, 'AlarmTemp'],
          ]),
        20_000,
        100,
      );
      expect(runtime.get(TOKENS.AlertsQueue).name).toBe('alerts');
      expect((runtime.get(TOKENS.AlertsQueue) as unknown as { queue: unknown }).queue).toBeInstanceOf(SqliteQueue);
    } finally {
      await database.close();
      await runtime.stop();
    }
  });
});
