// Flows 3–6 (ingest): the telemetry source an ingest worker opens in its own thread.
import { randomIds, systemClock } from '@fieldlink/adapter-in-memory';
import type { CfsThresholdRule } from '@fieldlink/domain';
import type { TelemetrySource, TelemetrySourceModule } from '@fieldlink/flows';
import type { LogPort } from '@fieldlink/ports';
import type { AdapterName, FieldlinkConfig, PortName } from '../config/fieldlink-config.js';
import { AZURE_FACTORIES } from './azure-factories.js';
import { buildPortAdapters, IN_MEMORY_FACTORIES } from './port-adapters.js';
import { SQL_FACTORIES } from './sql-factories.js';

/** The stores an ingest worker commits to: opened in its thread too, where they can be. */
export type WorkerStore = 'statusStore' | 'ruleStateStore';
const WORKER_STORES: readonly WorkerStore[] = ['statusStore', 'ruleStateStore'];

/** What crosses to each worker: the configuration, the rules the reference data holds, and the stores it opens itself; data only. */
export interface TelemetrySourceSettings {
  readonly config: FieldlinkConfig;
  readonly deviceRules: readonly CfsThresholdRule[];
  /** The stores the worker opens its own connection to (commits then stay in its thread); it asks the main thread's others. */
  readonly stores?: readonly WorkerStore[];
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
 * reads the stream and hands each batch to its partition's worker). The workers also open the
 * status store and rule state where those are files or services, not the in-memory ones: their
 * commits then never cross to the main thread. `ownFactories`: the ports this process was given
 * adapter factories of its own for, which a worker cannot rebuild (no source where the telemetry
 * or reference data is one of them; the main thread keeps such a store).
 */
export function telemetrySourceOf(
  config: FieldlinkConfig,
  deviceRules: readonly CfsThresholdRule[],
  ownFactories: ReadonlySet<PortName> = new Set(),
): TelemetrySourceModule | undefined {
  if (!WORKER_READABLE_TELEMETRY.has(config.ports.telemetry) || ownFactories.has('telemetry') || ownFactories.has('referenceData')) return undefined;
  const stores = WORKER_STORES.filter((store) => config.ports[store] !== 'in-memory' && !ownFactories.has(store));
  return { entry: ENTRY.href, settings: { config, deviceRules, stores } satisfies TelemetrySourceSettings };
}

/**
 * Opens, in an ingest worker, the configured telemetry adapter and reference data with the same
 * factories as the main thread (`buildPortAdapters`): its own connection to the hub's file or to
 * Event Hubs, its own copy of the rules, and its own connections to the `stores` it was given
 * (the data directory's `status.db` and `rulestate.db`, a SQL database, Blob storage).
 */
export async function openTelemetrySource(settings: unknown, log: LogPort): Promise<TelemetrySource> {
  const { config, deviceRules, stores = [] } = settings as TelemetrySourceSettings;
  const built = await buildPortAdapters(
    ['telemetry', 'referenceData', ...stores],
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
      ...(adapters.statusStore === undefined ? {} : { statusStore: adapters.statusStore }),
      ...(adapters.ruleStateStore === undefined ? {} : { ruleStateStore: adapters.ruleStateStore }),
      close: () => adapters.close(),
    };
  } catch (error) {
    await adapters.close();
    throw error;
  }
}
