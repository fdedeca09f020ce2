/**
 * One device-to-cloud message as the hub hands it to stream processing (flow 3): the raw body,
 * the device the hub authenticated, and the hub's enqueued time (epoch ms), which is event time.
 */
export interface TelemetryEnvelope {
  readonly body: Uint8Array;
  readonly connectionDeviceId: string;
  readonly enqueuedTime: number;
  readonly partitionId: string;
  readonly sequenceNumber: number;
  readonly properties?: Readonly<Record<string, string>>;
}

/** The partition a batch came from, handed with it: where its subscriber marks how far it got. */
/**
 * A partition as a subscription holds it: one object per claim, the same for every batch and
 * every `partitions()` listing while the subscription holds the partition, a new one once it
 * holds it again after it was away (another subscriber may have read on meanwhile). A handler
 * that keeps state per partition lets it go on a new claim.
 */
export interface TelemetryPartitionContext {
  readonly partitionId: string;
  /**
   * With `checkpoints: 'by-handler'`: marks the partition read through `through` (an envelope this
   * subscription handed over), so a later subscription of the consumer group starts right after
   * it. It may be called after the batch's handler resolved, and after the subscription closed (a
   * last mark at shutdown); a mark behind the partition's current checkpoint changes nothing.
   */
  checkpoint(through: TelemetryEnvelope): Promise<void>;
  /**
   * The sequence number of the newest event the hub holds in the partition, as the intake last
   * learnt it (-1 when the partition is empty); undefined when the intake cannot tell. A subscriber
   * that has handled it has nothing pending: it has caught up, and may let the partition's event
   * time follow the clock (see telemetry ingest's watermark).
   */
  lastEnqueuedSequenceNumber?(): number | undefined;
}

/**
 * Called with a batch of one partition, in order. When it fails, the same batch is handed again
 * (after a pause) and nothing after it comes first. With the default checkpoints, the batch is
 * checkpointed when the handler resolves.
 */
export type TelemetryBatchHandler = (batch: readonly TelemetryEnvelope[], partition: TelemetryPartitionContext) => Promise<void>;

export interface TelemetrySubscribeOptions {
  /**
   * `after-each-batch` (the default): each batch is checkpointed once its handler resolves.
   * `by-handler`: only what the handler marks with `partition.checkpoint`, for a handler that
   * makes its work durable less often than every batch (telemetry ingest saves its state on an
   * interval). A new subscription then resumes after the last mark and reads again what follows.
   */
  readonly checkpoints?: 'after-each-batch' | 'by-handler';
  /**
   * The partition ids this subscription reads (all of the hub's when not given), so that several
   * readers of one consumer group (worker threads of one process, say) can each own some of the
   * partitions; nothing balances them, the caller splits them. Each must be one of the hub's
   * partition ids, else `subscribe` rejects with a RangeError naming the unknown id and the hub's
   * ids; an empty list is a RangeError too. The subscription's `partitions()` lists only these.
   * Two subscriptions of one consumer group on disjoint partitions read side by side, each from
   * the group's checkpoints of its partitions (its marks move only its partitions' checkpoints).
   */
  readonly partitions?: readonly string[];
}

export interface TelemetrySubscription {
  close(): Promise<void>;
  /**
   * The partitions this subscription reads now, each with its context, whether or not it has
   * handed a batch of it yet (after a restart, a partition with nothing new hands nothing).
   */
  partitions?(): readonly TelemetryPartitionContext[];
}

/** `partitions` of `subscribe` names a partition the hub does not have, or none: the caller's mistake, not one to try again. */
export class UnknownPartitionError extends RangeError {
  override readonly name = 'RangeError';
}

/**
 * The partitions a subscription reads: `partitions` of `subscribe` checked against the hub's ids,
 * all of them when it is not given, else those it names, each once, in the order given. An id the
 * hub does not have, or an empty list, is an `UnknownPartitionError` naming the hub's ids.
 */
export function partitionsToRead(partitions: readonly string[] | undefined, hubIds: readonly string[]): string[] {
  if (partitions === undefined) return [...hubIds];
  if (partitions.length === 0)
    throw new UnknownPartitionError(`partitions must name at least one of the hub's partitions (${hubIds.join(', ')}); leave it out to read them all.`);
  const unknown = partitions.find((id) => !hubIds.includes(id));
  if (unknown !== undefined) throw new UnknownPartitionError(`The hub has no partition "${unknown}"; its partitions are ${hubIds.join(', ')}.`);
  return [...new Set(partitions)];
}

/** Flow 3: the telemetry stream, partitioned by device, read by one consumer group. */
export interface TelemetryIntakePort {
  subscribe(consumerGroup: string, handler: TelemetryBatchHandler, options?: TelemetrySubscribeOptions): Promise<TelemetrySubscription>;
  /**
   * The hub's partition ids, the same list in the same order on every call and in every process
   * (what `partitions` of `subscribe` takes, so that readers can split them between them). An
   * adapter that cannot tell leaves this out.
   */
  partitionIds?(): Promise<readonly string[]>;
}

/** Flows 1–2, the device's side: send one device-to-cloud message. */
export interface DeviceTelemetryPort {
  send(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void>;
}
