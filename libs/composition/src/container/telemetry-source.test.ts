import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryQueue, InMemoryReferenceData, InMemoryRejectedTelemetry } from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngestWorkers } from '@fieldlink/flows';
import { TOKENS } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { APP_TOKENS } from './app-tokens.js';
import { createStreamProcessor } from '../runtime/create-runtimes.js';
import type { PortName } from '../config/fieldlink-config.js';
import { openTelemetrySource, telemetrySourceOf, type TelemetrySourceSettings } from './telemetry-source.js';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const configOf = (dataDir: string, env: Record<string, string> = {}) => {
  const loaded = loadConfig({
    env: { FIELDLINK_STORAGE_DATA_DIR: dataDir, FIELDLINK_RULES_WORKERS: '2', FIELDLINK_RULES_COMMIT_INTERVAL_MS: '200', ...env },
    defaults: { profile: 'durable' },
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
};

/** The event tokens of the alerts the status database's history holds for `devices`, sorted. */
async function alertTokensOf(dataDir: string, devices: readonly string[]): Promise<string[]> {
  const { openSqliteDatabase, SqlAlertHistory } = await import('@fieldlink/adapter-sql');
  const database = await openSqliteDatabase({ file: join(dataDir, 'status.db') });
  try {
    const history = new SqlAlertHistory(database);
    const tokens: string[] = [];
    for (const deviceId of devices) for (const alert of await history.list(deviceId, 0, Date.now() + 60_000)) tokens.push(alert.eventToken);
    return tokens.sort();
  } finally {
    await database.close();
  }
}

const reading = (deviceId: string, temperature: number, token: string): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ DeviceID: deviceId, Temperature: temperature, Humidity: 40, EventToken: token }));

describe('ingest workers that read the hub themselves', () => {
  it('are given a source only where a worker can open the telemetry adapter itself (a file or a service, not the in-memory hub)', () => {
    expect(telemetrySourceOf(configOf(join(dir, 'a')), [])).toMatchObject({ entry: expect.stringMatching(/telemetry-source\.(ts|js)$/) });
    expect(telemetrySourceOf(configOf(join(dir, 'b'), { FIELDLINK_PORTS_TELEMETRY: 'in-memory' }), [])).toBeUndefined();
    // What crosses to a worker is data: it survives a structured clone unchanged.
    const source = telemetrySourceOf(configOf(join(dir, 'c')), [])!;
    expect(structuredClone(source.settings)).toEqual(source.settings);
    // Nor where this process builds the hub or the rules with factories of its own, which a worker cannot rebuild.
    expect(telemetrySourceOf(configOf(join(dir, 'd')), [], new Set(['telemetry']))).toBeUndefined();
    expect(telemetrySourceOf(configOf(join(dir, 'd')), [], new Set(['referenceData']))).toBeUndefined();
  });

  it('have the workers open the stores themselves where those are files or services, and not the in-memory ones or those built by factories of this process', () => {
    const storesOf = (env: Record<string, string>, ownFactories?: ReadonlySet<PortName>): unknown =>
      (telemetrySourceOf(configOf(join(dir, 'stores'), env), [], ownFactories)!.settings as TelemetrySourceSettings).stores;
    expect(storesOf({})).toEqual(['statusStore', 'ruleStateStore']);
    expect(storesOf({ FIELDLINK_PORTS_STATUS_STORE: 'in-memory' })).toEqual(['ruleStateStore']);
    expect(storesOf({ FIELDLINK_PORTS_RULE_STATE_STORE: 'in-memory' })).toEqual(['statusStore']);
    expect(storesOf({}, new Set(['statusStore']))).toEqual(['ruleStateStore']);
  });

  it('opens the SQLite hub of the data directory with every partition listed, and refuses an adapter that lives on the main thread, naming it', async () => {
    const config = configOf(join(dir, 'open'));
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const source = await openTelemetrySource({ config, deviceRules: [] }, log);
    try {
      expect(source.partitionIds).toEqual(['0', '1', '2', '3']);
      expect(source.referenceData).toBeDefined();
      // Given no stores to open, it opens none: the worker asks the main thread's.
      expect(source.statusStore).toBeUndefined();
      expect(source.ruleStateStore).toBeUndefined();
    } finally {
      await source.close();
    }
    const withStores = await openTelemetrySource({ config, deviceRules: [], stores: ['statusStore', 'ruleStateStore'] }, log);
    try {
      // Its own connections to the data directory's status.db and rulestate.db: what one writes, a fresh one reads.
      await withStores.ruleStateStore!.save('workers-test', { through: 7 });
      await withStores.statusStore!.upsertDeviceHealth({
        deviceId: 'thermostat-own',
        lastActivityTime: 1_000,
        online: true,
        lastReadings: { Temperature: 70 },
      });
    } finally {
      await withStores.close();
    }
    const { openSqliteDatabase, openSqliteFile, SqliteRuleStateStore, SqlStatusStore } = await import('@fieldlink/adapter-sql');
    const ruleStateFile = openSqliteFile(join(dir, 'open', 'rulestate.db'));
    const statusDb = await openSqliteDatabase({ file: join(dir, 'open', 'status.db') });
    try {
      expect(await new SqliteRuleStateStore(ruleStateFile).load('workers-test')).toEqual({ through: 7 });
      expect(await new SqlStatusStore(statusDb).listDeviceHealth()).toMatchObject([{ deviceId: 'thermostat-own', lastActivityTime: 1_000 }]);
    } finally {
      ruleStateFile.close();
      await statusDb.close();
    }
    const inMemory = configOf(join(dir, 'open-2'), { FIELDLINK_PORTS_TELEMETRY: 'in-memory' });
    await expect(openTelemetrySource({ config: inMemory, deviceRules: [] }, log)).rejects.toThrow(/in-memory hub lives on the main thread/);
  });

  it('split the partitions between the workers, raise every alert once, and after a stop and a start read on from where they committed', async () => {
    const dataDir = join(dir, 'stream');
    // The second run's devices are new: CFS suppresses a device's alerts for a while after one.
    const devicesOf = (run: string) => Array.from({ length: 24 }, (_, i) => `thermostat-${run}-${i}`);
    const devices = [...devicesOf('first'), ...devicesOf('second')];
    /** What the alerts queue holds: each message once (by its id), counted. */
    const queuedAlerts = async (): Promise<{ count: number; distinct: number }> => {
      const { openSqliteFile, SqliteQueue } = await import('@fieldlink/adapter-sql');
      const db = openSqliteFile(join(dataDir, 'queues.db'));
      const queue = new SqliteQueue(db, 'alerts');
      const ids: string[] = [];
      try {
        for (;;) {
          const got = await queue.receive({ maxMessages: 100, maxWaitMs: 10 });
          if (got.length === 0) break;
          for (const m of got) {
            ids.push(m.messageId);
            await queue.complete(m);
          }
        }
      } finally {
        await queue.close();
        db.close();
      }
      return { count: ids.length, distinct: new Set(ids).size };
    };
    const alertTokens = (): Promise<string[]> => alertTokensOf(dataDir, devices);
    const run = async (token: string, alerts: number): Promise<void> => {
      const created = await createStreamProcessor(configOf(dataDir));
      if (!created.ok) throw new Error(JSON.stringify(created.error));
      const runtime = created.value;
      const events: Array<{ event: string; fields: unknown }> = [];
      const feed = runtime.get(APP_TOKENS.EventFeed);
      feed.subscribe((e) => void events.push({ event: e.event, fields: e.fields }));
      expect(runtime.get(APP_TOKENS.TelemetryIngest)).toBeInstanceOf(TelemetryIngestWorkers);
      await runtime.start();
      try {
        const hub = runtime.get(TOKENS.DeviceTelemetry);
        for (const deviceId of devicesOf(token)) {
          await hub.send(deviceId, reading(deviceId, 64, `${token}-below-${deviceId}`));
          await hub.send(deviceId, reading(deviceId, 88, `${token}-over-${deviceId}`));
        }
        await eventually(async () => expect(await alertTokens()).toHaveLength(alerts), 30_000, 100);
        const read = events.find((e) => e.event === 'ingest.workers-read')?.fields as { partitions: string } | undefined;
        expect(read?.partitions).toBe('0,2 | 1,3');
        // Each worker opened the status store itself (the main thread's was opened before the feed was read).
        expect(events.filter((e) => e.event === 'status-store.opened')).toHaveLength(2);
      } finally {
        await runtime.stop();
      }
    };
    await run('first', 24);
    await run('second', 48);
    // The workers' commits: every device's health, in the data directory's status store.
    const { openSqliteDatabase, SqlStatusStore } = await import('@fieldlink/adapter-sql');
    const statusDb = await openSqliteDatabase({ file: join(dataDir, 'status.db') });
    try {
      const health = await new SqlStatusStore(statusDb).listDeviceHealth();
      expect(health.map((h) => h.deviceId).sort()).toEqual([...devices].sort());
    } finally {
      await statusDb.close();
    }
    expect(await alertTokens()).toEqual(devices.map((d) => `${d.split('-')[1]}-over-${d}`).sort());
    expect(await queuedAlerts()).toEqual({ count: 48, distinct: 48 });
  }, 90_000);

  it('are woken by a write to the hub file in another thread of the process at once, not at their next poll of it', async () => {
    const { openSqliteFile, SqliteIotHub } = await import('@fieldlink/adapter-sql');
    const file = join(dir, 'wake.db');
    // This thread writes the readings; the worker's hub (the source) polls the file every ten minutes.
    const db = openSqliteFile(file);
    const hub = new SqliteIotHub(db, { pollIntervalMs: 600_000 });
    const alertsQueue = new InMemoryQueue('alerts');
    const deps = {
      referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
      alertsQueue,
      rejected: new InMemoryRejectedTelemetry(),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      defaultDeviceType: 'Thermostat',
      commitIntervalMs: 60_000,
    };
    const entry = new URL('../testing/slow-poll-hub-source.ts', import.meta.url).href;
    const ingest = new TelemetryIngestWorkers(deps, 1, { source: { entry, settings: { file } } });
    try {
      const owned = await ingest.ownPartitions('rules');
      // The worker's first read, as it subscribes, may find the first reading without a wake; the second comes once it waits.
      await hub.send('thermostat-wake-1', reading('thermostat-wake-1', 88, 'wake-1'));
      await eventually(() => expect(alertsQueue.activeCount).toBe(1), 10_000, 20);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await hub.send('thermostat-wake-2', reading('thermostat-wake-2', 88, 'wake-2'));
      await eventually(() => expect(alertsQueue.activeCount).toBe(2), 10_000, 20);
      await owned.close();
    } finally {
      await ingest.close();
      await hub.close();
      db.close();
    }
  });

  it('replace a worker that died: its partitions are read again, from their checkpoints, by a new one', async () => {
    const dataDir = join(dir, 'restart');
    const created = await createStreamProcessor(configOf(dataDir));
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const runtime = created.value;
    const events: string[] = [];
    runtime.get(APP_TOKENS.EventFeed).subscribe((e) => void events.push(e.event));
    await runtime.start();
    try {
      const ingest = runtime.get(APP_TOKENS.TelemetryIngest);
      // The first worker's thread, ended from outside as a crash would end it.
      const threads = (ingest as unknown as { threads: Array<{ worker?: { terminate(): Promise<number> } }> }).threads;
      await threads[0]!.worker!.terminate();
      await eventually(() => expect(events).toContain('ingest.worker-restarted'), 20_000, 50);
      expect(events).toContain('ingest.worker-failed');
      const hub = runtime.get(TOKENS.DeviceTelemetry);
      const devices = Array.from({ length: 16 }, (_, i) => `thermostat-restart-${i}`);
      for (const deviceId of devices) await hub.send(deviceId, reading(deviceId, 90, `restart-over-${deviceId}`));
      await eventually(async () => expect(await alertTokensOf(dataDir, devices)).toEqual(devices.map((d) => `restart-over-${d}`).sort()), 30_000, 100);
    } finally {
      await runtime.stop();
    }
  }, 60_000);
});
