import { EventHubConsumerClient, earliestEventPosition, type EventPosition, type ReceivedEventData, type Subscription } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import type { TokenCredential } from '@azure/identity';
import { silentLog, type LogPort, type TelemetryBatchHandler, type TelemetryEnvelope, type TelemetryIntakePort, type TelemetrySubscription } from '@fieldlink/ports';
import { scrubbed, secretsOf } from './azure-auth.js';
import { blobService, type BlobAuth } from './blob-auth.js';

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
  readonly loadBalancing?: { readonly strategy?: 'balanced' | 'greedy'; readonly updateIntervalInMs?: number; readonly partitionOwnershipExpirationIntervalInMs?: number };
  readonly maxBatchSize?: number;
  readonly maxWaitTimeInSeconds?: number;
  /** First wait before a failed batch is handed over again; doubles up to 30 s. */
  readonly retryDelayMs?: number;
  readonly log?: LogPort;
}

const DEVICE_ID = 'iothub-connection-device-id';

/**
 * TelemetryIntakePort on the IoT hub's Event Hubs-compatible endpoint, with checkpoints in Blob
 * storage: instances subscribed to one consumer group share its partitions, and a partition that
 * moves (restart, scale-out) resumes from its last checkpoint. A batch is checkpointed only after
 * its handler resolved; a failed batch is handed over again, in order, until it succeeds or the
 * subscription closes (then the next owner gets it from the checkpoint). A partition without a
 * checkpoint starts after what it held when `subscribe` was called.
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

  async subscribe(consumerGroup: string, handler: TelemetryBatchHandler): Promise<TelemetrySubscription> {
    let client: EventHubConsumerClient;
    let subscription: Subscription;
    let closing = false;
    try {
      const container = blobService(this.options.checkpoints.auth).getContainerClient(this.options.checkpoints.containerName);
      await container.createIfNotExists();
      const checkpointStore = new BlobCheckpointStore(container);
      const clientOptions = {
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
      const startPosition = await startAfterCurrentEnd(client);
      const retryDelayMs = this.options.retryDelayMs ?? 1_000;
      subscription = client.subscribe(
        {
          processEvents: async (events, context) => {
            if (events.length === 0) return;
            const batch = events.map((e) => toEnvelope(e, context.partitionId));
            for (let attempt = 0; ; attempt++) {
              if (closing) return; // not checkpointed: the next owner reads it again
              try {
                await handler(batch);
                break;
              } catch (error) {
                this.log.warn('telemetry-intake.batch-failed', { partitionId: context.partitionId, consumerGroup, attempt: attempt + 1, error: error instanceof Error ? error.message : String(error) });
                await pause(Math.min(retryDelayMs * 2 ** attempt, 30_000), () => closing);
              }
            }
            await context.updateCheckpoint(events[events.length - 1]!);
          },
          processError: async (error, context) => {
            this.log.warn('telemetry-intake.error', { partitionId: context.partitionId, consumerGroup, error: scrubbed('Event Hubs', error, this.secrets).message });
          },
        },
        {
          startPosition,
          skipParsingBodyAsJson: true,
          maxBatchSize: this.options.maxBatchSize ?? 100,
          maxWaitTimeInSeconds: this.options.maxWaitTimeInSeconds ?? 1,
        },
      );
    } catch (error) {
      throw scrubbed(`Subscribing to telemetry with consumer group '${consumerGroup}' failed`, error, this.secrets);
    }
    return {
      close: async () => {
        closing = true;
        await subscription.close();
        await client.close();
      },
    };
  }
}

/** For partitions without a checkpoint: start right after the last event each holds now. */
async function startAfterCurrentEnd(client: EventHubConsumerClient): Promise<Record<string, EventPosition>> {
  const positions: Record<string, EventPosition> = {};
  for (const id of await client.getPartitionIds()) {
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

async function pause(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
}
