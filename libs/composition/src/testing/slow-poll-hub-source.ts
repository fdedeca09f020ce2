// Flows 3–6 (ingest), tests only: a telemetry source for ingest workers whose SQLite hub polls its
// file only every ten minutes, so that a reading reaches a worker at once only if the thread that
// wrote it wakes the worker (see `SqliteIotHub`). Loaded by URL in the worker, as a source is.
import { InMemoryReferenceData } from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import type { TelemetrySource } from '@fieldlink/flows';

export async function openTelemetrySource(settings: unknown): Promise<TelemetrySource> {
  const { file } = settings as { readonly file: string };
  // Loaded when used, as the composition loads its SQL adapters.
  const { openSqliteFile, SqliteIotHub } = await import('@fieldlink/adapter-sql');
  const db = openSqliteFile(file);
  const hub = new SqliteIotHub(db, { pollIntervalMs: 600_000 });
  return {
    intake: hub,
    partitionIds: await hub.partitionIds(),
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    close: async () => {
      await hub.close();
      db.close();
    },
  };
}
