// Flows 3–6 (ingest): the telemetry source an ingest worker opens in its own thread.
import { randomIds, systemClock } from '@fieldlink/adapter-in-memory';
import type { CfsThresholdRule } from '@fieldlink/domain';
import type { TelemetrySource, TelemetrySourceModule } from '@fieldlink/flows';
import type { LogPort } from '@fieldlink/ports';
import type { AdapterName, FieldlinkConfig } from '../config/fieldlink-config.js';
import { AZURE_FACTORIES } from './azure-factories.js';
import { buildPortAdapters, IN_MEMORY_FACTORIES } from './port-adapters.js';
import { SQL_FACTORIES } from './sql-factories.js';

/** What crosses to each worker: the configuration and the rules the reference data holds, data only. */
export interface TelemetrySourceSettings {
  readonly config: FieldlinkConfig;
  readonly deviceRules: readonly CfsThresholdRule[];
}

/**
 * The telemetry adapters an ingest worker can open in its own thread: a hub in a file (`sqlite`)
 * or a service (`event-hubs`). The in-memory hub lives in the main thread's memory only.
 */
export const WORKER_READABLE_TELEMETRY: ReadonlySet<AdapterName<'telemetry'>> = new Set(['sqlite', 'event-hubs']);

/** This module, as the workers import it: its TypeScript source when this runs from the sources (see `telemetry-ingest-worker-sources.mjs`). */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './telemetry-source.ts' : './telemetry-source.js', import.meta.url);

/**
 * Where `rules.workers` read their partitions themselves: this module, with the configuration,
 * when its telemetry adapter can be opened in a worker; undefined otherwise (the main thread then
 * reads the stream and hands each batch to its partition's worker).
 */
export function telemetrySourceOf(config: FieldlinkConfig, deviceRules: readonly CfsThresholdRule[]): TelemetrySourceModule | undefined {
  if (!WORKER_READABLE_TELEMETRY.has(config.ports.telemetry)) return undefined;
  return { entry: ENTRY.href, settings: { config, deviceRules } satisfies TelemetrySourceSettings };
}

/**
 * Opens, in an ingest worker, the configured telemetry adapter and reference data with the same
 * factories as the main thread (`buildPortAdapters`): its own connection to the hub's file or to
 * Event Hubs, and its own copy of the rules.
 */
export async function openTelemetrySource(settings: unknown, log: LogPort): Promise<TelemetrySource> {
  const { config, deviceRules } = settings as TelemetrySourceSettings;
  const built = await buildPortAdapters(
    ['telemetry', 'referenceData'],
    {
      config,
      clock: systemClock,
      ids: randomIds,
      log,
      deviceRules,
      inMemoryHub: () => {
        throw new Error('The in-memory hub lives on the main thread: an ingest worker cannot read it (ports.telemetry sqlite or event-hubs can).');
      },
    },
    [AZURE_FACTORIES, SQL_FACTORIES, IN_MEMORY_FACTORIES],
  );
  if (!built.ok) throw new Error(`An ingest worker could not open its telemetry source: ${built.error.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const adapters = built.value;
  const intake = adapters.telemetry!.intake;
  try {
    if (intake.partitionIds === undefined)
      throw new Error(`The "${config.ports.telemetry}" telemetry adapter cannot list its partitions, which an ingest worker needs to take its share.`);
    const partitionIds = await intake.partitionIds();
    // Event Hubs balances a consumer group's partitions among its subscribers, those of other processes too.
    const balancesPartitions = config.ports.telemetry === 'event-hubs';
    return {
      intake,
      partitionIds,
      balancesPartitions,
      ...(adapters.referenceData === undefined ? {} : { referenceData: adapters.referenceData }),
      close: () => adapters.close(),
    };
  } catch (error) {
    await adapters.close();
    throw error;
  }
}
