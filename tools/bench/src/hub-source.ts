/**
 * The telemetry source of the pipeline benchmark's workers that read the hub themselves
 * (`TelemetryIngestWorkers`' `source`): a SQLite hub file each worker opens in its own thread, as
 * the stream processor's workers open the data directory's `hub.db` (`telemetrySourceOf` in the
 * composition), with the CFS thermostat rule as reference data. Each batch the worker's ingest has
 * taken in is counted on a broadcast channel, so that the benchmark's main thread can tell when a
 * pass has been read; that is one small message per batch, not per reading. Given the status store's
 * and rule state's files too, the worker opens its own connections to them and commits there, as
 * the stream processor's workers do on `fieldlink up`'s data directory.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { InMemoryReferenceData } from '@fieldlink/adapter-in-memory';
import { openSqliteDatabase, openSqliteFile, SqliteIotHub, SqliteRuleStateStore, SqlStatusStore } from '@fieldlink/adapter-sql';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import type { TelemetrySource } from '@fieldlink/flows';
import type { LogPort, TelemetryIntakePort } from '@fieldlink/ports';

export interface HubSourceSettings {
  /** The hub's SQLite file. */
  readonly file: string;
  /** The broadcast channel each handled batch's size is posted on. */
  readonly channel: string;
  /** How often the worker's subscription looks for rows the benchmark's main thread wrote. */
  readonly pollIntervalMs: number;
  /** The status store's and rule state's SQLite files, which the worker then writes itself. */
  readonly stores?: { readonly status: string; readonly ruleState: string };
}

/** The hub as an intake whose batches, once handled, are counted on `channel`. */
export function countingIntake(hub: TelemetryIntakePort, channel: BroadcastChannel): TelemetryIntakePort {
  return {
    subscribe: (group, handler, options) =>
      hub.subscribe(
        group,
        async (batch, partition) => {
          await handler(batch, partition);
          channel.postMessage(batch.length);
        },
        options,
      ),
  };
}

export async function openTelemetrySource(settings: unknown, _log: LogPort): Promise<TelemetrySource> {
  const { file, channel: name, pollIntervalMs, stores } = settings as HubSourceSettings;
  const db = openSqliteFile(file);
  const hub = new SqliteIotHub(db, { pollIntervalMs });
  const channel = new BroadcastChannel(name);
  const status = stores === undefined ? undefined : await openSqliteDatabase({ file: stores.status });
  const ruleStateFile = stores === undefined ? undefined : openSqliteFile(stores.ruleState);
  return {
    intake: countingIntake(hub, channel),
    partitionIds: await hub.partitionIds(),
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    ...(status === undefined ? {} : { statusStore: new SqlStatusStore(status) }),
    ...(ruleStateFile === undefined ? {} : { ruleStateStore: new SqliteRuleStateStore(ruleStateFile) }),
    close: async () => {
      channel.close();
      await hub.close();
      db.close();
      await status?.close();
      ruleStateFile?.close();
    },
  };
}
