import {
  DeviceConnectionError,
  DeviceRegistryError,
  PartitionReaders,
  partitionsToRead,
  type ClockPort,
  type CloudToDevicePort,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceRegistration,
  type DeviceRegistrationResult,
  type DeviceRegistryPort,
  type DeviceTelemetryPort,
  type DeviceTwin,
  type TelemetryBatchHandler,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscribeOptions,
  type TelemetrySubscription,
  type TwinPatch,
} from '@fieldlink/ports';
import { InMemoryCloudToDevice, type InMemoryCloudToDeviceOptions } from './in-memory-cloud-to-device.js';
import { InMemoryDeviceRegistry } from './in-memory-device-registry.js';
import { systemClock } from './system-clock.js';

export interface InMemoryIotHubOptions {
  readonly partitionCount?: number;
  /** Events kept per partition; older ones are gone, as with the hub's retention. */
  readonly retentionPerPartition?: number;
  readonly maxBatchSize?: number;
  readonly clock?: ClockPort;
  /** Called when a handler fails; the same batch is handed again after `handlerRetryDelayMs`. */
  readonly onHandlerError?: (error: Error, partitionId: string) => void;
  /** Pause before a failed telemetry batch is handed over again. */
  readonly handlerRetryDelayMs?: number;
  readonly cloudToDevice?: InMemoryCloudToDeviceOptions;
  /**
   * The sequence number of each partition's first event (0 by default). A hub that starts again
   * beside state kept from an earlier run (a durable rule state store holds how far ingest got)
   * starts above what that run handed out, so nothing new is taken for already processed.
   */
  readonly firstSequenceNumber?: number;
}

interface Partition {
  readonly id: string;
  /** The events the retention keeps, in sequence order. */
  readonly log: PartitionLog;
}

/**
 * An IoT hub in process, every side of it:
 * - device-to-cloud: devices send, the hub stamps the enqueued time and a sequence number,
 *   partitions by device (so one device's messages stay in order), and each consumer group reads
 *   every partition from its own checkpoint, kept across subscriptions: advanced when a batch
 *   succeeds, or with `checkpoints: 'by-handler'` only as far as the handler marks; a failed batch
 *   is handed again as it was, never rewinding to the checkpoint. Subscribers of one group may
 *   split the partitions between them with `partitions` (nothing balances them automatically);
 * - the identity registry and twins (`DeviceRegistryPort`, also as `registry`);
 * - cloud-to-device with feedback (`cloudToDevice`);
 * - the device side (`DeviceClientPort`): registered, enabled devices connect, send telemetry,
 *   receive cloud-to-device messages and report properties; the twin keeps their connection
 *   state and last activity.
 * `close()` stops its timers; they never keep a process alive anyway.
 */
export class InMemoryIotHub implements TelemetryIntakePort, DeviceTelemetryPort, DeviceRegistryPort, DeviceClientPort {
  readonly registry: InMemoryDeviceRegistry;
  readonly cloudToDevice: InMemoryCloudToDevice & CloudToDevicePort;
  private readonly partitions: Partition[];
  private readonly listeners = new Set<() => void>();
  private readonly checkpoints = new Map<string, number[]>();
  private readonly connections = new Map<string, { readonly id: number; close(): Promise<void> }>();
  private connectionIds = 0;
  private readonly clock: ClockPort;
  private readonly retention: number;
  private readonly maxBatchSize: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: InMemoryIotHubOptions = {}) {
    const count = options.partitionCount ?? 4;
    const first = options.firstSequenceNumber ?? 0;
    if (!(Number.isSafeInteger(first) && first >= 0)) throw new RangeError(`firstSequenceNumber must be a whole number of 0 or more (got ${first}).`);
    this.partitions = Array.from({ length: count }, (_, i) => ({ id: String(i), log: new PartitionLog(first) }));
    this.clock = options.clock ?? systemClock;
    this.retention = options.retentionPerPartition ?? 100_000;
    if (!(Number.isSafeInteger(this.retention) && this.retention >= 1)) {
      throw new RangeError(`retentionPerPartition must be a whole number of 1 or more (got ${this.retention}).`);
    }
    this.maxBatchSize = options.maxBatchSize ?? 100;
    this.retryDelayMs = options.handlerRetryDelayMs ?? 200;
    this.registry = new InMemoryDeviceRegistry(this.clock);
    this.cloudToDevice = new InMemoryCloudToDevice(this.registry, this.clock, options.cloudToDevice);
  }

  // ---- device-to-cloud ----

  /** A device-to-cloud message as the hub receives it (no connection needed: the simulator's shortcut). */
  async send(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void> {
    this.enqueue(deviceId, body, this.clock.now(), properties);
  }

  /**
   * A recorded device-to-cloud message, stamped with the enqueued time it had when it was recorded
   * instead of now (`fieldlink replay`): the stream then carries the recording's event times.
   */
  async sendRecorded(deviceId: string, body: Uint8Array, enqueuedTime: number): Promise<void> {
    this.enqueue(deviceId, body, enqueuedTime);
  }

  /** Events the consumer group's checkpoints have not passed yet, over every partition (0: it has read and checkpointed everything). */
  uncheckpointed(consumerGroup: string): number {
    const marks = this.checkpoints.get(consumerGroup);
    return this.partitions.reduce((sum, p, i) => sum + p.log.nextSequence - Math.max(marks?.[i] ?? 0, p.log.firstSequence), 0);
  }

  private enqueue(deviceId: string, body: Uint8Array, enqueuedTime: number, properties?: Readonly<Record<string, string>>): void {
    const partition = this.partitions[partitionOf(deviceId, this.partitions.length)]!;
    partition.log.append(deviceId, body, enqueuedTime, properties === undefined ? undefined : { ...properties }, this.retention);
    this.registry.recordActivity(deviceId);
    for (const listener of this.listeners) listener();
  }

  /** Partitions `0` to `partitionCount - 1`. */
  async partitionIds(): Promise<readonly string[]> {
    return this.partitions.map((p) => p.id);
  }

  async subscribe(consumerGroup: string, handler: TelemetryBatchHandler, options: TelemetrySubscribeOptions = {}): Promise<TelemetrySubscription> {
    const read = partitionsToRead(
      options.partitions,
      this.partitions.map((p) => p.id),
    ).map((id) => this.partitions[Number(id)]!);
    // A new consumer group starts at the end of the stream; a known one resumes from its checkpoints.
    let checkpoints = this.checkpoints.get(consumerGroup);
    if (checkpoints === undefined) {
      checkpoints = this.partitions.map((p) => p.log.nextSequence);
      this.checkpoints.set(consumerGroup, checkpoints);
    }
    const marks = checkpoints;
    const byHandler = options.checkpoints === 'by-handler';
    // What this subscription has handed over, apart from the group's checkpoint: with marks by the
    // handler the checkpoint may be far behind, and a failure must not rewind to it.
    const delivered = [...marks];
    // A failed batch, handed again as it was before anything after it.
    const failed: (readonly TelemetryEnvelope[] | undefined)[] = this.partitions.map(() => undefined);
    // Indexed by partition number, over every partition of the hub; only those in `read` are read.
    const contexts: (TelemetryPartitionContext | undefined)[] = this.partitions.map(() => undefined);
    for (const partition of read) contexts[Number(partition.id)] = this.partitionContext(partition, marks);
    const held = read.map((partition) => contexts[Number(partition.id)]!);
    let closed = false;
    let retryTimer: NodeJS.Timeout | undefined;
    /** When each partition's failed batch may be handed again (performance.now()). */
    const retryAt = this.partitions.map(() => 0);
    /** Pokes the readers once the first failed batch is due again; one timer at a time. */
    const retryLater = (): void => {
      const due = Math.min(...read.map((p) => (failed[Number(p.id)] === undefined ? Infinity : retryAt[Number(p.id)]!)));
      if (retryTimer !== undefined || due === Infinity) return;
      retryTimer = setTimeout(
        () => {
          retryTimer = undefined;
          listener();
        },
        Math.max(1, due - performance.now()),
      );
      retryTimer.unref();
    };
    /** One partition's batches, one after another, until it has nothing more or a batch failed. */
    const readPartition = async (partition: Partition): Promise<void> => {
      const i = Number(partition.id);
      while (!closed) {
        if (failed[i] !== undefined && performance.now() < retryAt[i]!) break;
        const batch = failed[i] ?? partition.log.read(delivered[i]!, this.maxBatchSize, partition.id);
        if (batch.length === 0) break;
        try {
          await handler(batch, contexts[i]!);
          failed[i] = undefined;
          delivered[i] = batch[batch.length - 1]!.sequenceNumber + 1;
          if (!closed && !byHandler) marks[i] = Math.max(marks[i]!, delivered[i]!);
        } catch (e) {
          this.options.onHandlerError?.(e as Error, partition.id);
          // Handed again after a pause, without blocking the other partitions.
          failed[i] = batch;
          retryAt[i] = performance.now() + this.retryDelayMs;
          break;
        }
      }
      retryLater();
    };
    // Each partition read on its own, as Event Hubs reads them. Delivery starts on the next turn of
    // the event loop, not inside the sender's `send`: what the senders put in during one turn goes
    // over together, up to `maxBatchSize` per batch, as an Event Hubs receiver hands over the
    // events available when it reads. Delivering within the send gave batches of 1 to 3 events to
    // a sender sending one at a time.
    const readers = new PartitionReaders(read, readPartition, (e, partition) => this.options.onHandlerError?.(e, partition.id));
    const listener = (): void => readers.poke();
    this.listeners.add(listener);
    listener();
    return {
      close: async () => {
        closed = true;
        clearTimeout(retryTimer);
        this.listeners.delete(listener);
        await readers.close();
      },
      partitions: () => (closed ? [] : held),
    };
  }

  /** Marks move the consumer group's checkpoint of the partition forward only; they work after the subscription closed too. */
  private partitionContext(partition: Partition, marks: number[]): TelemetryPartitionContext {
    const i = Number(partition.id);
    return {
      partitionId: partition.id,
      checkpoint: async (through) => {
        if (
          through.partitionId !== partition.id ||
          !Number.isInteger(through.sequenceNumber) ||
          through.sequenceNumber < 0 ||
          through.sequenceNumber >= partition.log.nextSequence
        ) {
          throw new Error(
            `Cannot checkpoint partition ${partition.id} through the envelope of partition ${through.partitionId} with sequence number ${through.sequenceNumber}: it was not handed over from this partition.`,
          );
        }
        marks[i] = Math.max(marks[i]!, through.sequenceNumber + 1);
      },
      lastEnqueuedSequenceNumber: () => partition.log.nextSequence - 1,
    };
  }

  // ---- registry and twins ----

  registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]> {
    return this.registry.registerDevices(devices);
  }

  updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    return this.registry.updateTwin(deviceId, patch);
  }

  getTwin(deviceId: string): Promise<DeviceTwin | undefined> {
    return this.registry.getTwin(deviceId);
  }

  getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]> {
    return this.registry.getTwins(deviceIds);
  }

  connectedDeviceIds(): Promise<string[]> {
    return this.registry.connectedDeviceIds();
  }

  // ---- the device side ----

  /** Connects as a registered, enabled device; a second connection of the same device replaces the first. */
  async connect(deviceId: string): Promise<DeviceConnection> {
    if (!this.registry.isEnabled(deviceId)) {
      throw new DeviceRegistryError('DeviceNotFound', `Device "${deviceId}" is not registered or is disabled; the hub refuses its connection.`);
    }
    await this.connections.get(deviceId)?.close();
    const id = ++this.connectionIds;
    let closed = false;
    let detach: (() => void) | undefined;
    const assertOpen = (): void => {
      if (closed) throw new DeviceConnectionError('ConnectionClosed', `The connection of device "${deviceId}" is closed.`);
    };
    const connection: DeviceConnection = {
      deviceId,
      sendTelemetry: async (body, properties) => {
        assertOpen();
        await this.send(deviceId, body, properties);
      },
      onCloudToDeviceMessage: (handler) => {
        assertOpen();
        if (detach !== undefined) throw new DeviceConnectionError('HandlerExists', `Device "${deviceId}" has a cloud-to-device handler already.`);
        detach = this.cloudToDevice.attach(deviceId, handler);
      },
      reportProperties: async (patch) => {
        assertOpen();
        this.registry.patchReported(deviceId, patch);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        detach?.();
        if (this.connections.get(deviceId)?.id === id) {
          this.connections.delete(deviceId);
          this.registry.setConnectionState(deviceId, 'Disconnected');
        }
      },
    };
    this.connections.set(deviceId, { id, close: connection.close });
    this.registry.setConnectionState(deviceId, 'Connected');
    return connection;
  }

  /** Stops the hub's timers (cloud-to-device expiry, feedback retry). */
  async close(): Promise<void> {
    for (const c of [...this.connections.values()]) await c.close();
    this.cloudToDevice.close();
  }
}

/**
 * A partition's events, kept as columns in chunks of 4,096 rather than as an object per event: the
 * hub keeps up to its retention (100,000 events per partition by default), and kept objects are
 * what a young-generation collection copies (twice, before they are promoted). Kept as objects,
 * 200,000 sends promoted about 190 bytes each, in pauses of up to 160 ms. An event becomes an
 * envelope when it is read, and dies young with its batch. A chunk is let go once every event in
 * it is past the retention; nothing is ever copied to make room.
 */
class PartitionLog {
  /** Sequence number of the oldest event kept. */
  firstSequence: number;
  nextSequence: number;
  /** The chunks, oldest first; the first holds sequence number `base`. */
  private readonly chunks: Chunk[] = [];
  private base: number;
  private readonly bodies = new BodySlabs();

  constructor(first: number) {
    this.firstSequence = first;
    this.nextSequence = first;
    this.base = first;
  }

  append(deviceId: string, body: Uint8Array, enqueuedTime: number, properties: Readonly<Record<string, string>> | undefined, retention: number): void {
    const offset = this.nextSequence - this.base;
    const index = offset % CHUNK;
    if (index === 0) this.chunks.push(new Chunk());
    const chunk = this.chunks[this.chunks.length - 1]!;
    const copy = this.bodies.copy(body);
    chunk.slabs[index] = copy.slab;
    chunk.starts[index] = copy.start;
    chunk.lengths[index] = body.byteLength;
    chunk.times[index] = enqueuedTime;
    chunk.devices[index] = deviceId;
    chunk.properties[index] = properties;
    this.nextSequence++;
    this.firstSequence = Math.max(this.firstSequence, this.nextSequence - retention);
    // The oldest chunk goes once all of it is past the retention.
    while (this.firstSequence - this.base >= CHUNK) {
      this.chunks.shift();
      this.base += CHUNK;
    }
  }

  /** Up to `max` envelopes from sequence number `from` on (or from the oldest kept, if `from` is gone). */
  read(from: number, max: number, partitionId: string): TelemetryEnvelope[] {
    const start = Math.max(from, this.firstSequence);
    const end = Math.min(this.nextSequence, start + max);
    const batch: TelemetryEnvelope[] = [];
    for (let sequence = start; sequence < end; sequence++) {
      const offset = sequence - this.base;
      const chunk = this.chunks[Math.floor(offset / CHUNK)]!;
      const index = offset % CHUNK;
      const bodyStart = chunk.starts[index]!;
      const envelope: TelemetryEnvelope = {
        body: chunk.slabs[index]!.subarray(bodyStart, bodyStart + chunk.lengths[index]!),
        connectionDeviceId: chunk.devices[index]!,
        enqueuedTime: chunk.times[index]!,
        partitionId,
        sequenceNumber: sequence,
      };
      const properties = chunk.properties[index];
      // The kept properties are the hub's own copy (made on append) and read-only: handed over as they are.
      batch.push(properties === undefined ? envelope : { ...envelope, properties });
    }
    return batch;
  }
}

/** Events per chunk of a partition's log. */
const CHUNK = 4_096;

/** A chunk of a partition's log: its events' columns. */
class Chunk {
  readonly times = new Float64Array(CHUNK);
  readonly starts = new Uint32Array(CHUNK);
  readonly lengths = new Uint32Array(CHUNK);
  /** The slab each body was copied into (a body over a slab's eighth has a buffer of its own). */
  readonly slabs: Uint8Array[] = [];
  readonly devices: string[] = [];
  readonly properties: (Readonly<Record<string, string>> | undefined)[] = [];
}

/**
 * The hub's copies of message bodies (a sender may reuse its buffer), cut from shared slabs of
 * 16 KiB: a buffer of its own per message is an allocation outside the heap that the garbage
 * collector tracks one by one, the larger part of a send. A body kept keeps its slab, and a
 * delivered body (a view of its slab) keeps it too, after the retention dropped it.
 */
class BodySlabs {
  private static readonly SIZE = 16 * 1024;
  private slab = new Uint8Array(0);
  private used = 0;

  copy(body: Uint8Array): { readonly slab: Uint8Array; readonly start: number } {
    const size = body.byteLength;
    if (size > BodySlabs.SIZE / 8) return { slab: new Uint8Array(body), start: 0 };
    if (this.used + size > this.slab.byteLength) {
      this.slab = new Uint8Array(BodySlabs.SIZE);
      this.used = 0;
    }
    const start = this.used;
    this.slab.set(body, start);
    this.used += size;
    return { slab: this.slab, start };
  }
}

/** Stable partition assignment by device id, like the hub's hash of the device id. */
export function partitionOf(deviceId: string, partitionCount: number): number {
  let hash = 2166136261;
  for (let i = 0; i < deviceId.length; i++) hash = Math.imul(hash ^ deviceId.charCodeAt(i), 16777619);
  return (hash >>> 0) % partitionCount;
}
