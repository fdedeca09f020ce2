/*
 * One thread of the ceiling `bench:pipeline --only workers` measures beside its ingest workers:
 * full ingest of some of the hub's partitions with nothing shared with the main thread, neither a
 * port nor a message per batch. It makes the benchmark's readings of its own partitions itself
 * (the same readings and ingest, `pipeline-parts.ts`), keeps its own in-memory stores, and runs each pass
 * when told:
 *
 *   main → 'prepare'  this thread makes a pass's batches and a fresh ingest, and answers 'ready';
 *   main → 'go'       it hands the batches over as an intake does (each partition's batches one
 *                     after the other, the partitions at once), writes the last commit, and
 *                     answers { ms, count }.
 *
 * Started by the benchmark as a worker thread (its settings in `workerData.settings`); not run by hand.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { handOver, hubBatches, ingestOf, partitionBatches, readingsOf, relabelled, type ReadingsSettings } from './pipeline-parts.js';

export interface IndependentIngestSettings extends ReadingsSettings {
  readonly readings: number;
  readonly partitions: number;
  readonly batch: number;
  readonly commitIntervalMs: number;
  /** The partitions this thread ingests. */
  readonly own: readonly number[];
}

/** What a pass answers. */
export interface IndependentPass {
  readonly ms: number;
  readonly count: number;
}

if (parentPort === null) throw new Error('independent-ingest.ts is started by bench:pipeline as a worker thread, not by hand.');
const port = parentPort;
const settings = (workerData as { settings: IndependentIngestSettings }).settings;
const reading = readingsOf(settings);
const own = new Set(settings.own);

const nextMessage = (): Promise<unknown> => new Promise((resolve) => port.once('message', resolve));

for (let pass = 0; ; pass++) {
  if ((await nextMessage()) !== 'prepare') break;
  // Partitions named anew each pass (as the benchmark's rounds do): a fresh ingest, a fresh start.
  const batches = hubBatches(reading, settings.readings, { partitions: settings.partitions, batch: settings.batch, keep: (p) => own.has(p) });
  const byPartition = partitionBatches(relabelled(batches, `pass-${pass}`), settings.batch);
  const { ingest, alertsQueue } = ingestOf('full', settings.commitIntervalMs);
  // No forced collection here, as the ingest workers have none: one throws the thread's optimized
  // code away (V8 holds what it depends on weakly), and the pass compiles it again on V8's
  // background threads, which every thread of the process shares (one on two cores with
  // --v8-pool-size=0; docs/performance.md, "Twenty-first round"). With one, two such threads ran at
  // 1.08 to 1.14 of one (medians of runs); without, 1.48 to 1.96.
  port.postMessage('ready');
  if ((await nextMessage()) !== 'go') break;
  const t = performance.now();
  await handOver(ingest, byPartition);
  await ingest.flush();
  const ms = performance.now() - t;
  void alertsQueue.close();
  port.postMessage({ ms, count: batches.reduce((n, batch) => n + batch.length, 0) } satisfies IndependentPass);
}
port.close();
