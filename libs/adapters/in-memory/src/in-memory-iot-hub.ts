import type { ClockPort, DeviceTelemetryPort, TelemetryBatchHandler, TelemetryEnvelope, TelemetryIntakePort, TelemetrySubscription } from '@fieldlink/ports';

export interface InMemoryIotHubOptions {
  readonly partitionCount?: number;
  /** Events kept per partition; older ones are gone, as with the hub's retention. */
  readonly retentionPerPartition?: number;
  readonly maxBatchSize?: number;
  readonly clock?: ClockPort;
  /** Called when a handler fails; the batch is retried from the last checkpoint. */
  readonly onHandlerError?: (error: Error, partitionId: string) => void;
}

interface Partition {
  readonly id: string;
  readonly events: TelemetryEnvelope[];
  /** Sequence number of events[0]. */
  firstSequence: number;
  nextSequence: number;
}

/**
 * The hub's device-to-cloud side in process: devices send, the hub stamps the enqueued time and
 * a sequence number, partitions by device (so one device's messages stay in order), and each
 * consumer group reads every partition from its own checkpoint, advanced when a batch succeeds.
 */
export class InMemoryIotHub implements TelemetryIntakePort, DeviceTelemetryPort {
  private readonly partitions: Partition[];
  private readonly listeners = new Set<() => void>();
  private readonly clock: ClockPort;
  private readonly retention: number;
  private readonly maxBatchSize: number;

  constructor(private readonly options: InMemoryIotHubOptions = {}) {
    const count = options.partitionCount ?? 4;
    this.partitions = Array.from({ length: count }, (_, i) => ({ id: String(i), events: [], firstSequence: 0, nextSequence: 0 }));
    this.clock = options.clock ?? { now: () => Date.now() };
    this.retention = options.retentionPerPartition ?? 100_000;
    this.maxBatchSize = options.maxBatchSize ?? 100;
  }

  async send(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void> {
    const partition = this.partitions[partitionOf(deviceId, this.partitions.length)]!;
    partition.events.push({
      body: new Uint8Array(body),
      connectionDeviceId: deviceId,
      enqueuedTime: this.clock.now(),
      partitionId: partition.id,
      sequenceNumber: partition.nextSequence++,
      ...(properties === undefined ? {} : { properties: { ...properties } }),
    });
    if (partition.events.length > this.retention) {
      partition.events.shift();
      partition.firstSequence++;
    }
    for (const listener of [...this.listeners]) listener();
  }

  async subscribe(_consumerGroup: string, handler: TelemetryBatchHandler): Promise<TelemetrySubscription> {
    const checkpoints = this.partitions.map((p) => p.nextSequence);
    let closed = false;
    let running: Promise<void> | undefined;
    let again = false;
    const pump = async (): Promise<void> => {
      while (again && !closed) {
        again = false;
        for (const partition of this.partitions) {
          const i = Number(partition.id);
          while (!closed) {
            const from = Math.max(checkpoints[i]!, partition.firstSequence) - partition.firstSequence;
            const batch = partition.events.slice(from, from + this.maxBatchSize);
            if (batch.length === 0) break;
            try {
              await handler(batch);
              checkpoints[i] = batch[batch.length - 1]!.sequenceNumber + 1;
            } catch (e) {
              this.options.onHandlerError?.(e as Error, partition.id);
              again = true;
              await new Promise((r) => setTimeout(r, 200));
              break;
            }
          }
        }
      }
    };
    const listener = (): void => {
      again = true;
      running ??= pump().finally(() => {
        running = undefined;
        if (again && !closed) listener();
      });
    };
    this.listeners.add(listener);
    listener();
    return {
      close: async () => {
        closed = true;
        this.listeners.delete(listener);
        await running;
      },
    };
  }
}

/** Stable partition assignment by device id, like the hub's hash of the device id. */
export function partitionOf(deviceId: string, partitionCount: number): number {
  let hash = 2166136261;
  for (let i = 0; i < deviceId.length; i++) hash = Math.imul(hash ^ deviceId.charCodeAt(i), 16777619);
  return (hash >>> 0) % partitionCount;
}
