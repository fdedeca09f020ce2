import {
  EventHubConsumerClient,
  earliestEventPosition,
  latestEventPosition,
  type CheckpointStore,
  type EventPosition,
  type PartitionContext,
  type ReceivedEventData,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionEventHandlers,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import type { TokenCredential } from '@azure/identity';
import { backoffDelay } from '@fieldlink/domain';
import {
  partitionsToRead,
  silentLog,
  UnknownPartitionError,
  type LogPort,
  type TelemetryBatchHandler,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscribeOptions,
  type TelemetrySubscription,
} from '@fieldlink/ports';
import { AzureAdapterError, scrubbed, secretsOf } from './azure-auth.js';
import { blobService, type BlobAuth } from './blob-auth.js';
import { sdkRetryOptions, type SdkRetry } from './retry-policy.js';

/** The hub's Event Hubs-compatible endpoint: its connection string (with EntityPath), or namespace, name and credential. */
export type EventHubAuth =
  | { readonly connectionString: string; readonly eventHubName?: string }
  | { readonly fullyQualifiedNamespace: string; readonly eventHubName: string; readonly credential: TokenCredential };

export interface EventHubsTelemetryIntakeOptions {
  readonly auth: EventHubAuth;
  /** Where checkpoints and partition ownership live: a blob container shared by every instance. */
  readonly checkpoints: { readonly auth: BlobAuth; readonly containerName: string };
  /**
   * How instances share partitions. `balanced` (the default) claims one partition per cycle,
   * `greedy` all it can at once; the intervals are the SDK's (10 s and 60 s by default).
   */
  readonly loadBalancing?: {
    readonly strategy?: 'balanced' | 'greedy';
    readonly updateIntervalInMs?: number;
    readonly partitionOwnershipExpirationIntervalInMs?: number;
  };
  readonly maxBatchSize?: number;
  readonly maxWaitTimeInSeconds?: number;
  /** Ceiling of the first wait before a failed batch is handed over again (full jitter below it); doubles up to 30 s. */
  readonly retryDelayMs?: number;
  /** The SDK's retries of a dropped receiver or management call: exponential from 0.5 s up to 30 s by default (see `sdkRetryOptions`). */
  readonly retry?: SdkRetry;
  /** How many times `subscribe` sets up before it gives up on a failure that may pass (6 by default; 1: no retry). */
  readonly subscribeAttempts?: number;
  /** In [0, 1): draws the jitter of the waits before a failed batch is handed over again (Math.random by default). */
  readonly random?: () => number;
  readonly log?: LogPort;
}

const DEVICE_ID = 'iothub-connection-device-id';

/**
 * TelemetryIntakePort on the IoT hub's Event Hubs-compatible endpoint, with checkpoints in Blob
 * storage: instances subscribed to one consumer group share its partitions, and a partition that
 * moves (restart, scale-out) resumes from its last checkpoint. By default a batch is checkpointed
 * only after its handler resolved; with `checkpoints: 'by-handler'` only where the handler marks
 * (`partition.checkpoint`), which also works after the subscription closed. A failed batch is
 * handed over again as it was, until it succeeds or the partition is closed here (then its next
 * owner reads on from the checkpoint). A partition without a checkpoint starts after what it held
 * when `subscribe` was called. With `partitions`, the subscription reads only those, a receiver
 * each (the SDK's per-partition `subscribe`), from the same checkpoints, and claims no ownership:
 * the subscribers of a group that split the partitions this way do so between themselves, and do
 * not share the group with load-balanced subscribers.
 */
export class EventHubsTelemetryIntake implements TelemetryIntakePort {
  private readonly secrets: string[];
  private readonly log: LogPort;

  constructor(private readonly options: EventHubsTelemetryIntakeOptions) {
    this.secrets = [
      ...('connectionString' in options.auth ? secretsOf(options.auth.connectionString) : []),
      ...('connectionString' in options.checkpoints.auth ? secretsOf(options.checkpoints.auth.connectionString) : []),
    ];
    this.log = options.log ?? silentLog;
  }

  /**
   * Subscribes, setting up again with back-off (full jitter, `retryDelayMs` doubling to 30 s,
   * `subscribeAttempts` tries) while the set-up fails for a reason that may pass, such as a
   * connection dropped while it asks the hub for its partitions; a missing consumer group, or an
   * error the SDK says will not pass, fails at once.
   */
  async subscribe(consumerGroup: string, handler: TelemetryBatchHandler, options: TelemetrySubscribeOptions = {}): Promise<TelemetrySubscription> {
    const attempts = this.options.subscribeAttempts ?? 6;
    const backoff = { baseMs: this.options.retryDelayMs ?? 1_000, maxMs: 30_000 };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.subscribeOnce(consumerGroup, handler, options);
      } catch (error) {
        if (error instanceof ConsumerGroupNotFoundError || error instanceof UnknownPartitionError) throw error;
        const failed = scrubbed(`Subscribing to telemetry with consumer group '${consumerGroup}' failed`, error, this.secrets);
        if (!mayPass(error) || attempt + 1 >= attempts) throw failed;
        const retryInMs = backoffDelay(backoff, attempt, this.options.random ?? Math.random);
        this.log.warn('telemetry-intake.subscribe-failed', { consumerGroup, attempt: attempt + 1, of: attempts, retryInMs, error: failed.message });
        await pause(retryInMs, () => false);
      }
    }
  }

  /** The event hub's partition ids, as the service lists them (`getPartitionIds`). */
  async partitionIds(): Promise<readonly string[]> {
    const client = this.clientWithoutCheckpoints(EventHubConsumerClient.defaultConsumerGroupName);
    try {
      return await client.getPartitionIds();
    } catch (error) {
      throw scrubbed('Listing the partitions of the event hub failed', error, this.secrets);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  /** A client with no checkpoint store: it reads without an owner level and takes no partition from anyone. */
  private clientWithoutCheckpoints(consumerGroup: string): EventHubConsumerClient {
    const auth = this.options.auth;
    const options = { retryOptions: sdkRetryOptions(this.options.retry) };
    if (!('connectionString' in auth))
      return new EventHubConsumerClient(consumerGroup, auth.fullyQualifiedNamespace, auth.eventHubName, auth.credential, options);
    return auth.eventHubName
      ? new EventHubConsumerClient(consumerGroup, auth.connectionString, auth.eventHubName, options)
      : new EventHubConsumerClient(consumerGroup, auth.connectionString, options);
  }

  private async subscribeOnce(consumerGroup: string, handler: TelemetryBatchHandler, options: TelemetrySubscribeOptions): Promise<TelemetrySubscription> {
    let client: EventHubConsumerClient;
    /** The client once made, to close when the set-up fails after it. */
    let made: EventHubConsumerClient | undefined;
    let subscriptions: Subscription[];
    let closing = false;
    let held: () => TelemetryPartitionContext[] = () => [];
    const inFlight = new InFlight();
    const log = this.log;
    try {
      const container = blobService(this.options.checkpoints.auth).getContainerClient(this.options.checkpoints.containerName);
      await container.createIfNotExists();
      const checkpointStore = new BlobCheckpointStore(container);
      const clientOptions = {
        retryOptions: sdkRetryOptions(this.options.retry),
        loadBalancingOptions: {
          strategy: this.options.loadBalancing?.strategy ?? 'balanced',
          ...(this.options.loadBalancing?.updateIntervalInMs !== undefined ? { updateIntervalInMs: this.options.loadBalancing.updateIntervalInMs } : {}),
          ...(this.options.loadBalancing?.partitionOwnershipExpirationIntervalInMs !== undefined
            ? { partitionOwnershipExpirationIntervalInMs: this.options.loadBalancing.partitionOwnershipExpirationIntervalInMs }
            : {}),
        },
      };
      const auth = this.options.auth;
      client =
        'connectionString' in auth
          ? auth.eventHubName
            ? new EventHubConsumerClient(consumerGroup, auth.connectionString, auth.eventHubName, checkpointStore, clientOptions)
            : new EventHubConsumerClient(consumerGroup, auth.connectionString, checkpointStore, clientOptions)
          : new EventHubConsumerClient(consumerGroup, auth.fullyQualifiedNamespace, auth.eventHubName, auth.credential, checkpointStore, clientOptions);
      made = client;
      const hubIds = await client.getPartitionIds();
      // Given partitions are read a receiver each; none given, every partition through the load balancer.
      const ids = options.partitions === undefined ? undefined : partitionsToRead(options.partitions, hubIds);
      const startPosition = await startAfterCurrentEnd(client, ids ?? hubIds);
      // The probe reads without an owner level, from a client of its own: a receiver of this
      // client would carry owner level 0 (it has a checkpoint store) and take the partition from
      // the instance reading it.
      const probeClient = this.clientWithoutCheckpoints(consumerGroup);
      await consumerGroupExists(probeClient, consumerGroup, Object.keys(startPosition)[0])
        .finally(() => probeClient.close().catch(() => undefined))
        .catch(async (error: unknown) => {
          await client.close().catch(() => undefined);
          throw error;
        });
      const backoff = { baseMs: this.options.retryDelayMs ?? 1_000, maxMs: 30_000 };
      const random = this.options.random ?? Math.random;
      const marks = new PartitionMarks(checkpointStore, consumerGroup, this.secrets);
      held = () => marks.openContexts();
      const byHandler = options.checkpoints === 'by-handler';
      const handOver = async (events: ReceivedEventData[], context: PartitionContext): Promise<void> => {
        const batch = marks.handOver(events, context);
        const partition = marks.contextOf(context);
        for (let attempt = 0; ; attempt++) {
          // Not checkpointed: the partition's next owner reads it again.
          if (closing || !marks.isOpen(context)) return;
          try {
            await handler(batch, partition);
            break;
          } catch (error) {
            // Full jitter: instances whose batches failed together do not retry together.
            const retryInMs = backoffDelay(backoff, attempt, random);
            log.warn('telemetry-intake.batch-failed', {
              partitionId: context.partitionId,
              consumerGroup,
              attempt: attempt + 1,
              retryInMs,
              error: error instanceof Error ? error.message : String(error),
            });
            await pause(retryInMs, () => closing || !marks.isOpen(context));
          }
        }
        if (!byHandler) await partition.checkpoint(batch[batch.length - 1]!);
      };
      const handlers: SubscriptionEventHandlers = {
        processInitialize: async (context) => marks.opened(context),
        processClose: async (_reason, context) => marks.closed(context),
        processEvents: async (events, context) => {
          if (events.length === 0) return;
          // close() waits for batches in hand, so what was handled is checkpointed before the partition's next owner reads on.
          const done = inFlight.begin();
          try {
            await handOver(events, context);
          } finally {
            done();
          }
        },
        processError: async (error, context) => {
          log.warn('telemetry-intake.error', { partitionId: context.partitionId, consumerGroup, error: scrubbed('Event Hubs', error, this.secrets).message });
        },
      };
      const subscribeOptions: SubscribeOptions = {
        startPosition,
        skipParsingBodyAsJson: true,
        // The partition's newest event with every receive: telemetry ingest's watermark tells from it whether it has caught up.
        trackLastEnqueuedEventProperties: true,
        maxBatchSize: this.options.maxBatchSize ?? 100,
        maxWaitTimeInSeconds: this.options.maxWaitTimeInSeconds ?? 1,
      };
      // Every partition, shared with the group's other instances by the load balancer; or only
      // the partitions asked for, a receiver each, claiming no ownership (the caller splits the
      // partitions). Either way a partition starts from the group's checkpoint in the store, else
      // from `startPosition`, and its marks go to the store.
      subscriptions = ids === undefined ? [client.subscribe(handlers, subscribeOptions)] : ids.map((id) => client.subscribe(id, handlers, subscribeOptions));
    } catch (error) {
      // What failed goes to `subscribe` as it came, to be judged and scrubbed there.
      await made?.close().catch(() => undefined);
      throw error;
    }
    return {
      close: async () => {
        closing = true;
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
        await inFlight.settled();
        await client.close();
      },
      partitions: () => (closing ? [] : held()),
    };
  }
}

/**
 * One subscription's checkpoints, partition by partition. A mark goes to the checkpoint store
 * through the SDK's `PartitionContext.updateCheckpoint`, which needs the received event (its
 * offset), hence the map from each envelope handed over to its event. The SDK writes whatever it is
 * given, after the subscription closed too (the store is Blob storage, not the closed AMQP link),
 * and moves a checkpoint backwards as readily as forwards; so marks of a partition are written one
 * at a time, one behind what this subscription wrote is dropped, and once the pump that handed the
 * envelope over is closed (subscription closed, or the partition moved to an instance that may
 * have marked further) the store's checkpoint is read first and a mark behind it dropped too.
 */
class PartitionMarks {
  private readonly received = new WeakMap<TelemetryEnvelope, { readonly event: ReceivedEventData; readonly context: PartitionContext }>();
  private readonly contexts = new WeakMap<PartitionContext, TelemetryPartitionContext>();
  private readonly open = new Set<PartitionContext>();
  /** Per partition: the sequence number this subscription wrote last. */
  private readonly written = new Map<string, number>();
  /** Per partition: the last write queued, so marks are written in the order they were given. */
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: CheckpointStore,
    private readonly consumerGroup: string,
    private readonly secrets: readonly string[],
  ) {}

  opened(context: PartitionContext): void {
    this.open.add(context);
  }

  closed(context: PartitionContext): void {
    this.open.delete(context);
  }

  isOpen(context: PartitionContext): boolean {
    return this.open.has(context);
  }

  /** The partitions this subscription holds now. */
  openContexts(): TelemetryPartitionContext[] {
    return [...this.open].map((context) => this.contextOf(context));
  }

  handOver(events: readonly ReceivedEventData[], context: PartitionContext): TelemetryEnvelope[] {
    return events.map((event) => {
      const envelope = toEnvelope(event, context.partitionId);
      this.received.set(envelope, { event, context });
      return envelope;
    });
  }

  contextOf(context: PartitionContext): TelemetryPartitionContext {
    let partition = this.contexts.get(context);
    if (partition === undefined) {
      partition = {
        partitionId: context.partitionId,
        checkpoint: (through) => this.mark(context.partitionId, through),
        // What the hub told with the last receive (trackLastEnqueuedEventProperties); undefined before the first.
        lastEnqueuedSequenceNumber: () => context.lastEnqueuedEventProperties?.sequenceNumber,
      };
      this.contexts.set(context, partition);
    }
    return partition;
  }

  private mark(partitionId: string, through: TelemetryEnvelope): Promise<void> {
    const origin = this.received.get(through);
    if (origin === undefined || origin.context.partitionId !== partitionId) {
      // A bug of the subscriber: it may only mark what this subscription handed it, from that partition.
      return Promise.reject(
        new Error(
          `Cannot checkpoint partition ${partitionId} of consumer group '${this.consumerGroup}' through the envelope of partition ${through.partitionId} with sequence number ${through.sequenceNumber}: this subscription did not hand it over from that partition.`,
        ),
      );
    }
    const write = (this.queue.get(partitionId) ?? Promise.resolve()).catch(() => undefined).then(() => this.write(origin.event, origin.context));
    this.queue.set(partitionId, write);
    return write;
  }

  private async write(event: ReceivedEventData, context: PartitionContext): Promise<void> {
    const { partitionId } = context;
    if (event.sequenceNumber <= (this.written.get(partitionId) ?? -1)) return;
    try {
      // The pump that handed the event over is gone: another may have read and marked further.
      if (!this.open.has(context)) {
        const current = (await this.store.listCheckpoints(context.fullyQualifiedNamespace, context.eventHubName, context.consumerGroup)).find(
          (c) => c.partitionId === partitionId,
        );
        if (current !== undefined && event.sequenceNumber <= current.sequenceNumber) return;
      }
      await context.updateCheckpoint(event);
      this.written.set(partitionId, event.sequenceNumber);
    } catch (error) {
      throw scrubbed(
        `Checkpointing partition ${partitionId} of consumer group '${this.consumerGroup}' through sequence number ${event.sequenceNumber} failed`,
        error,
        this.secrets,
      );
    }
  }
}

/** For partitions without a checkpoint: start right after the last event each holds now. */
/**
 * Opens one receiver on the consumer group and closes it again: a group the hub does not have
 * fails here, naming it, instead of the subscription retrying its partitions every few seconds.
 * Other errors are the subscription's to retry.
 */
export async function consumerGroupExists(client: EventHubConsumerClient, consumerGroup: string, partitionId: string | undefined): Promise<void> {
  if (partitionId === undefined) return;
  let probe: Subscription | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      probe = client.subscribe(
        partitionId,
        {
          // Called, with no events, once the receiver is open and the wait passed.
          processEvents: async () => resolve(),
          // Any other answer (a partition another instance holds with its owner level, a network error) is the subscription's to deal with.
          processError: async (error) =>
            (error as { code?: unknown }).code === 'MessagingEntityNotFoundError'
              ? reject(new ConsumerGroupNotFoundError(consumerGroup, client.eventHubName))
              : resolve(),
        },
        { startPosition: latestEventPosition, maxWaitTimeInSeconds: 0.1, maxBatchSize: 1 },
      );
    });
  } finally {
    await (probe as Subscription | undefined)?.close();
  }
}

/** The hub's events endpoint has no consumer group of this name: it is created on the IoT hub (Built-in endpoints) first. */
export class ConsumerGroupNotFoundError extends AzureAdapterError {
  constructor(
    readonly consumerGroup: string,
    readonly eventHubName: string,
  ) {
    super(
      'Misconfigured',
      `consumer group '${consumerGroup}' does not exist on the event hub '${eventHubName}'; create it on the IoT hub (Built-in endpoints → Consumer groups) or set the one to use`,
      { sdkCode: 'MessagingEntityNotFoundError' },
    );
    this.name = 'ConsumerGroupNotFoundError';
  }
}

async function startAfterCurrentEnd(client: EventHubConsumerClient, partitionIds: readonly string[]): Promise<Record<string, EventPosition>> {
  const positions: Record<string, EventPosition> = {};
  for (const id of partitionIds) {
    const properties = await client.getPartitionProperties(id);
    positions[id] = properties.isEmpty ? earliestEventPosition : { sequenceNumber: properties.lastEnqueuedSequenceNumber, isInclusive: false };
  }
  return positions;
}

function toEnvelope(event: ReceivedEventData, partitionId: string): TelemetryEnvelope {
  const body = event.body as unknown;
  const bytes = body instanceof Uint8Array ? new Uint8Array(body) : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(event.properties ?? {})) properties[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return {
    body: bytes,
    connectionDeviceId: String(event.systemProperties?.[DEVICE_ID] ?? ''),
    enqueuedTime: event.enqueuedTimeUtc.getTime(),
    partitionId,
    sequenceNumber: Number(event.sequenceNumber),
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
  };
}

/** Batches being handed over now: close() waits for them (a failing one gives up at once when closing). */
class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  begin(): () => void {
    this.count += 1;
    return () => {
      this.count -= 1;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

async function pause(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
}

/**
 * Whether a failed set-up may succeed when tried again: not when the SDK says it will not (`retryable: false`, as for a refused credential or an entity that does not exist),
 * nor for a host name that does not resolve; anything else, such as a dropped connection (which
 * the SDK may report as a bare "Unknown error encountered."), may pass.
 */
function mayPass(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const e = error as { retryable?: unknown; code?: unknown; cause?: unknown };
  if (e.retryable === false) return false;
  if (e.code === 'ENOTFOUND' || e.code === 'UnauthorizedError' || e.code === 'MessagingEntityNotFoundError') return false;
  return e.cause === undefined || e.cause === error ? true : mayPass(e.cause);
}
