/**
 * The partitions of one telemetry subscription, each read on its own, as Event Hubs reads them:
 * `read(partition)` hands that partition's batches one after another until it has nothing more
 * (or its batch failed), while the other partitions' reads go on, so neither a backlog nor a slow
 * or failing handler in one holds back the others. A `poke` (new events, a poll, a retry falling
 * due) starts the reads that are not running on the next turn of the event loop, all together, so
 * that their batches interleave even where the handler answers at once; a read running when poked
 * reads again once it ends. Never two reads of one partition at once.
 *
 * For the intakes that read a log themselves (`SqliteIotHub`, `InMemoryIotHub`); the Event Hubs
 * adapter has the SDK's per-partition receivers do this.
 */
export class PartitionReaders<P> {
  private readonly readers: Array<{ readonly partition: P; running: Promise<void> | undefined; again: boolean }>;
  private scheduled = false;
  private closed = false;

  /** `onError`: a read that threw (its partition is read again at the next poke). */
  constructor(
    partitions: readonly P[],
    private readonly read: (partition: P) => Promise<void>,
    private readonly onError: (error: Error, partition: P) => void,
  ) {
    this.readers = partitions.map((partition) => ({ partition, running: undefined, again: false }));
  }

  /** Has every partition read what it has not read yet, on the next turn of the event loop. */
  poke(): void {
    if (this.closed) return;
    for (const reader of this.readers) reader.again = true;
    if (this.readers.some((r) => r.running === undefined)) this.schedule();
  }

  /** Starts no more reads; resolves once those running have ended. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.readers.map((r) => r.running));
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.closed) return;
    for (const reader of this.readers) {
      if (!reader.again) continue;
      reader.running ??= this.readWhilePoked(reader)
        .catch((e: unknown) => this.onError(e as Error, reader.partition))
        .finally(() => {
          reader.running = undefined;
          if (reader.again) this.schedule();
        });
    }
  }

  private async readWhilePoked(reader: (typeof this.readers)[number]): Promise<void> {
    while (reader.again && !this.closed) {
      reader.again = false;
      await this.read(reader.partition);
    }
  }
}
