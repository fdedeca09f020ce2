/*
 * What the stages of `bench:pipeline` share with the threads of its ceiling
 * (`independent-ingest.ts`): the readings, their batches, and the ingest they go through.
 */
import {
  InMemoryQueue,
  InMemoryReferenceData,
  InMemoryRejectedTelemetry,
  InMemoryRuleStateStore,
  InMemoryStatusStore,
  partitionOf,
} from '@fieldlink/adapter-in-memory';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import { TelemetryIngest, type TelemetryIngestDeps } from '@fieldlink/flows';
import { silentLog, type TelemetryEnvelope } from '@fieldlink/ports';

export interface ReadingsSettings {
  readonly devices: number;
  /** The share of readings over the CFS threshold (0.01: every hundredth). */
  readonly alertShare: number;
}

export interface Reading {
  readonly body: Uint8Array;
  readonly deviceId: string;
  readonly token: string;
  readonly alert: boolean;
}

/** Reading n: device round robin; every (1 / alertShare)-th one over the CFS threshold, each with a different value (no CFS suppression). */
export function readingsOf({ devices, alertShare }: ReadingsSettings): (n: number) => Reading {
  const encoder = new TextEncoder();
  const deviceIds = Array.from({ length: devices }, (_, i) => `thermostat-${i + 1}`);
  const alertEvery = alertShare > 0 ? Math.round(1 / alertShare) : 0;
  return (n) => {
    const deviceId = deviceIds[n % devices]!;
    const alert = alertEvery > 0 && n % alertEvery === 0;
    // Alert readings of one device differ from round to round, so the CFS identical-reading suppression never hides one.
    const temperature = alert ? 71 + (Math.floor(n / devices) % 1000) / 10 : 60 + (n % 100) / 10;
    const token = `r-${n}`;
    return {
      body: encoder.encode(JSON.stringify({ DeviceID: deviceId, Temperature: temperature, Humidity: 40 + (n % 20), EventToken: token })),
      deviceId,
      token,
      alert,
    };
  };
}

/**
 * The first `readings` readings in the hub's batches of `batch`, each batch of one of `partitions`
 * partitions, with 10,000 readings per second of event time; `keep` (all by default) picks the
 * partitions made.
 */
export function hubBatches(
  reading: (n: number) => Reading,
  readings: number,
  { partitions, batch: size, keep }: { partitions: number; batch: number; keep?: (partition: number) => boolean },
): TelemetryEnvelope[][] {
  const envelopes: TelemetryEnvelope[][] = [];
  const baseTime = Date.UTC(2026, 10, 28, 9);
  // A hub's batch holds one partition's events (Event Hubs and the in-memory hub both deliver per partition).
  const open: TelemetryEnvelope[][] = Array.from({ length: partitions }, () => []);
  const sequence = new Array<number>(partitions).fill(0);
  for (let n = 0; n < readings; n++) {
    const b = reading(n);
    // Placed as the hub places a device (a hash of its id). By n % 4, every alert reading (n % 100 = 0)
    // fell in partition 0, so one worker of two took all the alerts' work.
    const partition = partitionOf(b.deviceId, partitions);
    if (keep !== undefined && !keep(partition)) continue;
    // 10,000 readings per second of event time: minute windows open and close as in real traffic.
    const batch = open[partition]!;
    batch.push({
      body: b.body,
      connectionDeviceId: b.deviceId,
      enqueuedTime: baseTime + Math.floor(n / 10),
      partitionId: String(partition),
      sequenceNumber: sequence[partition]!++,
    });
    if (batch.length === size) {
      envelopes.push(batch);
      open[partition] = [];
    }
  }
  for (const batch of open) if (batch.length > 0) envelopes.push(batch);
  return envelopes;
}

/** `rules`: ingest raising alerts only. `full`: also per-minute aggregates, device health and rule state, stored at every commit (what the stream processor runs). */
export type IngestMode = 'rules' | 'full';

/** A fresh ingest over in-memory ports, and the alerts queue it sends to. */
export function ingestOf(mode: IngestMode, commitIntervalMs: number) {
  const deps = ingestDepsOf(mode, commitIntervalMs);
  return { ingest: new TelemetryIngest(deps), alertsQueue: deps.alertsQueue };
}

/**
 * The ports of an ingest with the CFS thermostat rule, in memory: `full` adds a status store and
 * rule state (in memory, or those given), `rules` has none.
 */
export function ingestDepsOf(mode: IngestMode, commitIntervalMs: number, stores?: Required<Pick<TelemetryIngestDeps, 'statusStore' | 'ruleStateStore'>>) {
  return {
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    alertsQueue: new InMemoryQueue('alerts', { duplicateDetectionWindowMs: 60_000 }),
    rejected: new InMemoryRejectedTelemetry(),
    log: silentLog,
    defaultDeviceType: 'Thermostat',
    commitIntervalMs,
    ...(mode === 'full' ? (stores ?? { statusStore: new InMemoryStatusStore(), ruleStateStore: new InMemoryRuleStateStore() }) : {}),
  } satisfies TelemetryIngestDeps;
}

/** The same readings on partitions named anew (`<tag>-<partition>`): a partition's sequence numbers start again. */
export const relabelled = (envelopes: readonly TelemetryEnvelope[][], tag: string): TelemetryEnvelope[][] =>
  envelopes.map((b) => b.map((e) => ({ ...e, partitionId: `${tag}-${e.partitionId}` })));

/** The readings in batches of `size`, each of one partition, by partition, as an intake hands them over. */
export function partitionBatches(envelopes: readonly TelemetryEnvelope[][], size: number): Map<string, TelemetryEnvelope[][]> {
  const byPartition = new Map<string, TelemetryEnvelope[][]>();
  for (const b of envelopes) {
    for (const e of b) {
      const list = byPartition.get(e.partitionId) ?? [];
      if (list.length === 0 || list.at(-1)!.length === size) list.push([]);
      list.at(-1)!.push(e);
      byPartition.set(e.partitionId, list);
    }
  }
  return byPartition;
}

/** Each partition's batches one after another, the partitions at once; tells how many batches. */
export async function handOver(
  ingest: { ingestBatch(batch: readonly TelemetryEnvelope[]): Promise<unknown> },
  byPartition: ReadonlyMap<string, TelemetryEnvelope[][]>,
): Promise<number> {
  let batches = 0;
  await Promise.all(
    [...byPartition.values()].map(async (list) => {
      for (const b of list) {
        await ingest.ingestBatch(b);
        batches++;
      }
    }),
  );
  return batches;
}
