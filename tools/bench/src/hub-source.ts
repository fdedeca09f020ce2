/**
 * The telemetry source of the pipeline benchmark's workers that read the hub themselves
 * (`TelemetryIngestWorkers`' `source`): a SQLite hub file each worker opens in its own thread, as
 * the stream processor's workers open the data directory's `hub.db` (`telemetrySourceOf` in the
 * composition), with the CFS thermostat rule as reference data. Each batch the worker's ingest has
 * taken in is counted in memory the benchmark's threads share (`HandledCounter`), so that its main
 * thread can tell when a pass has been read; it is woken once a pass, where a message per batch
 * (2,000 a pass) cost it CPU time that a stream processor's main thread does not spend, and which the
 * ratio of 2 workers to 1 counts against the workers. A batch read waits at the counter's gate
 * while the benchmark holds it shut (while a pass is written). Given the status store's
 * and rule state's files too, the worker opens its own connections to them and commits there, as
 * the stream processor's workers do on `fieldlink up`'s data directory.
 */
import { InMemoryReferenceData } from '@fieldlink/adapter-in-memory';
import { openSqliteDatabase, openSqliteFile, SqliteIotHub, SqliteRuleStateStore, SqlStatusStore } from '@fieldlink/adapter-sql';
import { THERMOSTAT_DEFAULT_RULES } from '@fieldlink/domain';
import type { TelemetrySource } from '@fieldlink/flows';
import type { LogPort, TelemetryIntakePort } from '@fieldlink/ports';

export interface HubSourceSettings {
  /** The hub's SQLite file. */
  readonly file: string;
  /** The `HandledCounter`'s memory, shared with the benchmark's main thread. */
  readonly handled: SharedArrayBuffer;
  /** How often the worker's subscription looks for rows the benchmark wrote (its writes also wake it). */
  readonly pollIntervalMs: number;
  /** The status store's and rule state's SQLite files, which the worker then writes itself. */
  readonly stores?: { readonly status: string; readonly ruleState: string };
}

/** ES2024's `Atomics.waitAsync` (in Node since 16), not in the ES2022 library the workspace compiles against. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | string } }).waitAsync;

/**
 * Readings handled, counted in a `SharedArrayBuffer` every thread adds to (`Atomics`), and the one
 * target a waiting thread is woken at; and a gate the readers wait at before they take a batch in,
 * which the benchmark shuts while it writes a pass and opens as its clock starts. Cells: the readings handled, the target, whether it was reached
 * (the cell a waiter waits on), whether the gate is shut (1; open, 0, as the memory starts).
 */
export class HandledCounter {
  private readonly cells: Int32Array;

  constructor(readonly buffer = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
    if (Atomics.load(this.cells, 1) === 0) Atomics.store(this.cells, 1, 0x7fffffff);
  }

  get handled(): number {
    return Atomics.load(this.cells, 0);
  }

  add(readings: number): void {
    const total = Atomics.add(this.cells, 0, readings) + readings;
    if (total >= Atomics.load(this.cells, 1) && Atomics.compareExchange(this.cells, 2, 0, 1) === 0) Atomics.notify(this.cells, 2);
  }

  /** Resolves once `readings` more than now have been handled, in any thread. */
  async until(readings: number): Promise<void> {
    Atomics.store(this.cells, 2, 0);
    const target = this.handled + readings;
    Atomics.store(this.cells, 1, target);
    if (this.handled >= target) return;
    const waited = waitAsync(this.cells, 2, 0);
    if (waited.async) await waited.value;
  }

  /** Readers wait at the gate from now (each with the batch it read) until `open`. */
  shut(): void {
    Atomics.store(this.cells, 3, 1);
  }

  open(): void {
    Atomics.store(this.cells, 3, 0);
    Atomics.notify(this.cells, 3);
  }

  /** Resolves once the gate is open: at once (no promise) where it is. */
  passed(): Promise<unknown> | undefined {
    if (Atomics.load(this.cells, 3) === 0) return undefined;
    const waited = waitAsync(this.cells, 3, 1);
    return waited.async ? (waited.value as Promise<unknown>) : undefined;
  }
}

/** The hub as an intake whose batches, once handled, are counted on `counter`. */
export function countingIntake(hub: TelemetryIntakePort, counter: HandledCounter): TelemetryIntakePort {
  return {
    subscribe: (group, handler, options) =>
      hub.subscribe(
        group,
        async (batch, partition) => {
          const gate = counter.passed();
          if (gate !== undefined) await gate;
          await handler(batch, partition);
          counter.add(batch.length);
        },
        options,
      ),
  };
}

export async function openTelemetrySource(settings: unknown, _log: LogPort): Promise<TelemetrySource> {
  const { file, handled, pollIntervalMs, stores } = settings as HubSourceSettings;
  const db = openSqliteFile(file);
  const hub = new SqliteIotHub(db, { pollIntervalMs });
  const status = stores === undefined ? undefined : await openSqliteDatabase({ file: stores.status });
  const ruleStateFile = stores === undefined ? undefined : openSqliteFile(stores.ruleState);
  return {
    intake: countingIntake(hub, new HandledCounter(handled)),
    partitionIds: await hub.partitionIds(),
    referenceData: new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES),
    ...(status === undefined ? {} : { statusStore: new SqlStatusStore(status) }),
    ...(ruleStateFile === undefined ? {} : { ruleStateStore: new SqliteRuleStateStore(ruleStateFile) }),
    close: async () => {
      await hub.close();
      db.close();
      await status?.close();
      ruleStateFile?.close();
    },
  };
}
