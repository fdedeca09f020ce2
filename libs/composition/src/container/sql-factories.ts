import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type {
  CloudToDevicePort,
  DeviceClientPort,
  DeviceRegistryPort,
  MessageQueuePort,
  RejectedTelemetryPort,
  RuleStateStorePort,
  StatusStorePort,
} from '@fieldlink/ports';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import type { AdapterContext, AdapterFactories, Built } from './port-adapters.js';

/** Loaded only when a SQL adapter is configured. */
const sql = () => import('@fieldlink/adapter-sql');

/** The SQLite files of a data directory, one per concern, so that processes sharing the directory wait on each other only where they share work. */
export const DATA_FILES = { status: 'status.db', queues: 'queues.db', ruleState: 'rulestate.db', dataverse: 'dataverse.db', hub: 'hub.db' } as const;

/** The data directory, absolute (relative to the working directory), created when missing. */
export function dataDirOf(config: FieldlinkConfig): string {
  const dir = resolve(config.storage.dataDir);
  mkdirSync(dir, { recursive: true });
  return dir;
}

type SqliteHandle = Awaited<ReturnType<Awaited<ReturnType<typeof sql>>['openSqliteFile']>>;
/** One handle per file and configuration (the two queues share theirs), closed when the last adapter on it closes. */
const handles = new WeakMap<FieldlinkConfig, Map<string, { db: SqliteHandle; users: number }>>();

async function sqliteHandle(config: FieldlinkConfig, file: string): Promise<{ db: SqliteHandle; release(): void }> {
  const { openSqliteFile } = await sql();
  let byFile = handles.get(config);
  if (byFile === undefined) handles.set(config, (byFile = new Map()));
  const path = join(dataDirOf(config), file);
  let entry = byFile.get(path);
  if (entry === undefined) byFile.set(path, (entry = { db: openSqliteFile(path), users: 0 }));
  entry.users++;
  const held = entry;
  let released = false;
  return {
    db: held.db,
    release: () => {
      if (released) return;
      released = true;
      if (--held.users === 0) {
        byFile.delete(path);
        held.db.close();
      }
    },
  };
}

const sqliteQueue =
  (which: 'alerts' | 'outbound') =>
  async ({ config, clock }: AdapterContext): Promise<Built<MessageQueuePort>> => {
    const { SqliteQueue } = await sql();
    const handle = await sqliteHandle(config, DATA_FILES.queues);
    const { lockDurationMs, maxDeliveryCount, duplicateDetectionWindowMs } = config.inMemory;
    const q = new SqliteQueue(handle.db, which, { clock, lockDurationMs, maxDeliveryCount, duplicateDetectionWindowMs });
    return {
      port: q,
      close: async () => {
        await q.close();
        handle.release();
      },
    };
  };

/** A SQL status store; the rejected telemetry and the alert history go to the same database (its `rejectedtelemetry` and `alerthistory` tables). */
const sqlStatusStore =
  (engine: 'sqlite' | 'postgres' | 'azure-sql') =>
  async ({ config, log }: AdapterContext): Promise<Built<StatusStorePort> & { readonly rejectedTelemetry: RejectedTelemetryPort }> => {
    const { openMssqlDatabase, openPostgresDatabase, openSqliteDatabase, SqlAlertHistory, SqlRejectedTelemetry, SqlStatusStore } = await sql();
    // Connection strings are present here: the configuration refused to load without them (see requiredSettings).
    const database =
      engine === 'sqlite'
        ? await openSqliteDatabase({ file: join(dataDirOf(config), DATA_FILES.status) })
        : engine === 'postgres'
          ? await openPostgresDatabase({ connectionString: config.storage.postgresConnectionString! })
          : await openMssqlDatabase({ connectionString: config.storage.azureSqlConnectionString! });
    log.info('status-store.opened', { engine, ...(engine === 'sqlite' ? { file: join(dataDirOf(config), DATA_FILES.status) } : {}) });
    return {
      port: new SqlStatusStore(database),
      rejectedTelemetry: new SqlRejectedTelemetry(database),
      alertHistory: new SqlAlertHistory(database),
      close: () => database.close(),
    };
  };

const sqliteRuleStateStore = async ({ config }: AdapterContext): Promise<Built<RuleStateStorePort>> => {
  const { SqliteRuleStateStore } = await sql();
  const handle = await sqliteHandle(config, DATA_FILES.ruleState);
  return { port: new SqliteRuleStateStore(handle.db), close: async () => handle.release() };
};

type SqliteHub = InstanceType<Awaited<ReturnType<typeof sql>>['SqliteIotHub']>;
/** One SQLite hub per configuration: telemetry, registry, cloud-to-device and device client of a process share it (and its file), closed with the last of them. */
const hubs = new WeakMap<FieldlinkConfig, { hub: Promise<SqliteHub>; users: number; release(): void }>();

async function sqliteHub({ config, clock, log }: AdapterContext): Promise<{ hub: SqliteHub; close(): Promise<void> }> {
  let entry = hubs.get(config);
  if (entry === undefined) {
    let release = (): void => undefined;
    const hub = (async () => {
      const { SqliteIotHub } = await sql();
      const handle = await sqliteHandle(config, DATA_FILES.hub);
      release = handle.release;
      return new SqliteIotHub(handle.db, {
        clock,
        partitionCount: config.inMemory.partitionCount,
        maxDeliveryCount: config.inMemory.maxDeliveryCount,
        // A new hub file beside a rule state store of an earlier run numbers above anything that run's ingest took.
        ...(config.ports.ruleStateStore === 'in-memory' ? {} : { firstSequenceNumber: clock.now() * 1_000 }),
        onHandlerError: (e, partitionId) => log.warn('telemetry.batch-retried', { partitionId, error: e.message }),
      });
    })();
    entry = { hub, users: 0, release: () => release() };
    hubs.set(config, entry);
  }
  entry.users++;
  const held = entry;
  const hub = await held.hub;
  let closed = false;
  return {
    hub,
    close: async () => {
      if (closed) return;
      closed = true;
      if (--held.users === 0) {
        hubs.delete(config);
        await hub.close();
        held.release();
      }
    },
  };
}

const hubPort =
  <T>(pick: (hub: SqliteHub) => T) =>
  async (context: AdapterContext): Promise<Built<T>> => {
    const { hub, close } = await sqliteHub(context);
    return { port: pick(hub), close };
  };

/**
 * The SQL adapters: the IoT hub in `hub.db`, queues and rule state in SQLite files of `storage.dataDir` (WAL mode, so
 * processes that share the directory share them), the status store (and rejected telemetry) in
 * SQLite, PostgreSQL or Azure SQL.
 */
export const SQL_FACTORIES: AdapterFactories = {
  telemetry: { sqlite: hubPort((hub) => ({ intake: hub, deviceTelemetry: hub })) },
  deviceRegistry: { sqlite: hubPort<DeviceRegistryPort>((hub) => hub) },
  cloudToDevice: { sqlite: hubPort<CloudToDevicePort>((hub) => hub.cloudToDevice) },
  deviceClient: { sqlite: hubPort<DeviceClientPort>((hub) => hub) },
  alertsQueue: { sqlite: sqliteQueue('alerts') },
  outboundQueue: { sqlite: sqliteQueue('outbound') },
  statusStore: { sqlite: sqlStatusStore('sqlite'), postgres: sqlStatusStore('postgres'), 'azure-sql': sqlStatusStore('azure-sql') },
  ruleStateStore: { sqlite: sqliteRuleStateStore },
};
