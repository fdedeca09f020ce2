import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { err, isHubDeviceId, ok, type DeliveryFeedbackStatus, type Result } from '@fieldlink/domain';
import {
  C2D_DEFAULT_TTL_MS,
  C2D_MAX_BYTES,
  C2D_MAX_PENDING_PER_DEVICE,
  DeviceConnectionError,
  DeviceRegistryError,
  PartitionReaders,
  partitionsToRead,
  type ClockPort,
  type CloudToDeviceError,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceMessageOutcome,
  type DeviceRegistration,
  type DeviceRegistrationResult,
  type DeviceRegistryPort,
  type DeviceTelemetryPort,
  type DeviceTwin,
  type FeedbackSubscription,
  type ReceivedCloudToDeviceMessage,
  type TelemetryBatchHandler,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type TelemetryPartitionContext,
  type TelemetrySubscribeOptions,
  type TelemetrySubscription,
  type TwinPatch,
} from '@fieldlink/ports';
import type { SqliteFile } from './sqlite-file.js';

export interface SqliteIotHubOptions {
  /** Partitions of a new hub file; a file opened again keeps the count it was created with. */
  readonly partitionCount?: number;
  /** Events kept per partition; older ones are deleted, as the hub's retention drops them. */
  readonly retentionPerPartition?: number;
  readonly maxBatchSize?: number;
  readonly clock?: ClockPort;
  /** How often a subscription, a device or a feedback subscriber looks for rows another process wrote; 50 ms by default. */
  readonly pollIntervalMs?: number;
  /** Called when a telemetry handler fails; the same batch is handed again after `handlerRetryDelayMs`. */
  readonly onHandlerError?: (error: Error, partitionId: string) => void;
  readonly handlerRetryDelayMs?: number;
  /**
   * The sequence number of each partition's first event in a new hub file (0 by default). A hub
   * file created beside state kept from an earlier run (a rule state store that holds how far
   * ingest got) starts above it, so nothing new is taken for already processed.
   */
  readonly firstSequenceNumber?: number;
  /** Deliveries after which a cloud-to-device message is given up (DeliveryCountExceeded); IoT Hub's default is 10. */
  readonly maxDeliveryCount?: number;
  /** How long a device holds a cloud-to-device message it was handed; when its process dies unsettled, it comes again after this (IoT Hub: 60 s). */
  readonly deviceLockTimeoutMs?: number;
  readonly feedbackRetryDelayMs?: number;
  /** How long a device connection counts as connected without its process renewing it (a killed process's devices turn Disconnected after this); 15 s by default. */
  readonly connectionLeaseMs?: number;
}

const SCHEMA = `
create table if not exists hub_meta (key text primary key, value text not null);
create table if not exists hub_partition (id integer primary key, next_sequence integer not null, first_sequence integer not null);
create table if not exists hub_event (
  partition integer not null,
  sequence integer not null,
  enqueued_time integer not null,
  device_id text not null,
  body blob not null,
  properties text,
  primary key (partition, sequence)
) without rowid;
create table if not exists hub_checkpoint (consumer_group text not null, partition integer not null, next_sequence integer not null, primary key (consumer_group, partition)) without rowid;
create table if not exists hub_device (
  device_id text primary key,
  status text not null,
  connection_id text,
  connected_until integer,
  last_activity integer,
  tags text not null,
  desired text not null,
  reported text not null,
  version integer not null
);
-- A process renews its devices' connections by connection id, every few seconds, holding the write lock.
create index if not exists hub_device_connection on hub_device (connection_id) where connection_id is not null;
create table if not exists hub_c2d (
  seq integer primary key autoincrement,
  device_id text not null,
  message_id text not null,
  body blob not null,
  correlation_id text,
  properties text,
  expires_at integer not null,
  delivery_count integer not null default 0,
  lock_token text,
  locked_until integer
);
create index if not exists hub_c2d_device on hub_c2d (device_id, seq);
-- Every poll of the devices' side looks for messages past their time to live.
create index if not exists hub_c2d_expiry on hub_c2d (expires_at);
create table if not exists hub_feedback (
  seq integer primary key autoincrement,
  original_message_id text not null,
  device_id text not null,
  status text not null,
  description text not null,
  enqueued_time integer not null,
  lock_token text,
  locked_until integer
);
-- A subscriber settles or releases each batch of feedback it took by its lock token.
create index if not exists hub_feedback_lock on hub_feedback (lock_token) where lock_token is not null;
`;

const FEEDBACK_DESCRIPTION: Record<DeliveryFeedbackStatus, string> = {
  Success: 'Success',
  Expired: 'Message expired',
  DeliveryCountExceeded: 'Message delivery count exceeded',
  Rejected: 'Message rejected',
  Purged: 'Message purged',
};
const FEEDBACK_BATCH = 64;
/** How long a feedback subscriber holds a batch it was handed before another may take it (its process may have died). */
const FEEDBACK_LOCK_MS = 10_000;

const systemClock: ClockPort = { now: () => Date.now() };
/**
 * What a write concerns: the telemetry stream (its subscriptions), or the devices' side
 * (cloud-to-device receivers and feedback subscribers). A write of one wakes only the readers of
 * that one: a fleet's every telemetry send woke every device's cloud-to-device receiver, each of
 * which then took the file's write lock to look at its queue (docs/performance.md, "Twenty-fourth
 * round").
 */
type WakeKind = 'stream' | 'devices';

/**
 * The readers of one hub file in this thread, by what they read, and a broadcast channel named for
 * the file to the other threads of this process (ingest workers open the file on connections of
 * their own): a write here wakes this thread's readers of its kind at once and, one message per
 * kind and turn of the event loop however many writes it made, those of the other threads.
 * Another process's write is found by polling.
 */
class FileWakers {
  readonly here: Record<WakeKind, Set<() => void>> = { stream: new Set(), devices: new Set() };
  users = 0;
  private readonly channel: BroadcastChannel | undefined;
  private readonly told: Record<WakeKind, boolean> = { stream: false, devices: false };

  constructor(file: string) {
    // An in-memory or temporary database is this connection's alone.
    if (file === ':memory:' || file === '') return;
    this.channel = new BroadcastChannel(`fieldlink-sqlite-hub:${resolve(file)}`);
    // Readers wait on their own timers; the channel alone keeps no thread alive.
    this.channel.unref();
    this.channel.onmessage = (message) => this.wakeHere((message as { data: unknown }).data);
  }

  /** This thread's readers of `kind`; of both without one (or with a message this code does not know). */
  wakeHere(kind?: unknown): void {
    const kinds: readonly WakeKind[] = kind === 'stream' || kind === 'devices' ? [kind] : ['stream', 'devices'];
    for (const k of kinds) for (const wake of [...this.here[k]]) wake();
  }

  /** After a write in this thread. */
  wake(kind: WakeKind): void {
    this.wakeHere(kind);
    if (this.channel === undefined || this.told[kind]) return;
    this.told[kind] = true;
    queueMicrotask(() => {
      this.told[kind] = false;
      if (this.users > 0) this.channel!.postMessage(kind);
    });
  }

  close(): void {
    this.channel?.close();
  }
}
/** Per hub file, as this thread opened it. */
const wakersByFile = new Map<string, FileWakers>();

/** An event as the subscription reads it: the columns of `events`, in order, as an array (the statement's raw mode). */
type EventRow = [partition: number, sequence: number, enqueuedTime: number, deviceId: string, body: Buffer, properties: string | null];
/** A device-to-cloud message sent but not yet written: the sends of one turn are written together. */
interface PendingSend {
  readonly deviceId: string;
  /** A copy, taken when it was sent: the sender may reuse its buffer once `send` returned. */
  readonly body: Buffer;
  readonly enqueuedTime: number;
  readonly properties: string | null;
  /** When it was sent: the device's last activity. */
  readonly sentAt: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}
interface DeviceRow {
  device_id: string;
  status: 'enabled' | 'disabled';
  connection_id: string | null;
  connected_until: number | null;
  last_activity: number | null;
  tags: string;
  desired: string;
  reported: string;
  version: number;
}
interface C2dRow {
  seq: number;
  device_id: string;
  message_id: string;
  body: Buffer;
  correlation_id: string | null;
  properties: string | null;
  expires_at: number;
  delivery_count: number;
}
interface FeedbackRow {
  seq: number;
  original_message_id: string;
  device_id: string;
  status: DeliveryFeedbackStatus;
  description: string;
  enqueued_time: number;
}

type Json = Readonly<Record<string, unknown>>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
/** RFC 7386 JSON merge patch, as the hub applies twin patches: objects merge key by key, null removes a key, anything else replaces. */
function mergePatch(target: Json, patch: Json): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isObject(value)) result[key] = mergePatch(isObject(result[key]) ? result[key] : {}, value);
    else result[key] = structuredClone(value);
  }
  return result;
}

/**
 * An IoT hub on a SQLite file (WAL mode), every side of it, shared by the processes that open the
 * same file: the stream processor reads what the simulator's devices send, the orchestrator sends
 * commands the devices of another process receive, and all of it survives a restart or a kill.
 * - device-to-cloud: a partitioned log (partition by a hash of the device id, so one device stays
 *   in order), each event with its sequence number and enqueued time; each consumer group reads
 *   every partition from its checkpoint, kept in the file: advanced after each batch, or with
 *   `checkpoints: 'by-handler'` only where the handler marks. A new consumer group starts at the
 *   end of the stream, as Event Hubs' default start position does;
 * - the identity registry and twins (JSON merge patch), connection state and last activity; a
 *   connection is a lease its process renews, so the devices of a killed process turn Disconnected;
 * - cloud-to-device: at most 50 pending per device, time to live, one message at a time in order,
 *   delivery count, feedback (Success, Rejected, Expired, DeliveryCountExceeded) kept until a
 *   subscriber settles it;
 * - the device side: connect as a registered, enabled device, send, receive, report properties.
 * Other processes' writes are found by polling every `pollIntervalMs` (50 ms by default); writes of
 * this process wake its readers at once, those of its other threads too (a broadcast channel
 * named for the file). Each write is one `BEGIN IMMEDIATE` transaction.
 * Subscribers of one consumer group may split the partitions between them with `partitions`
 * (each reads and checkpoints only its own); nothing balances them automatically.
 */
export class SqliteIotHub implements TelemetryIntakePort, DeviceTelemetryPort, DeviceRegistryPort, DeviceClientPort {
  readonly cloudToDevice: SqliteCloudToDevice;
  readonly partitionCount: number;
  private readonly clock: ClockPort;
  private readonly retention: number;
  private readonly maxBatchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly leaseMs: number;
  private readonly fileWakers: FileWakers;
  private readonly connections = new Map<string, { readonly connectionId: string; close(): Promise<void> }>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private sendsSincePrune = 0;
  /** Sends of this turn of the event loop, written in one transaction at its end (`writePending`). */
  private pending: PendingSend[] = [];
  private readonly s;

  /** @internal The connection a device's newest client holds (null: none), for the device client of this hub. */
  connectionOf(deviceId: string): string | null | undefined {
    return (this.s.device.get(deviceId) as { connection_id: string | null } | undefined)?.connection_id;
  }

  constructor(
    private readonly db: SqliteFile,
    private readonly options: SqliteIotHubOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.retention = options.retentionPerPartition ?? 100_000;
    this.maxBatchSize = options.maxBatchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.retryDelayMs = options.handlerRetryDelayMs ?? 200;
    this.leaseMs = options.connectionLeaseMs ?? 15_000;
    const first = options.firstSequenceNumber ?? 0;
    if (!(Number.isSafeInteger(first) && first >= 0)) throw new RangeError(`firstSequenceNumber must be a whole number of 0 or more (got ${first}).`);
    db.exec(SCHEMA);
    this.partitionCount = db
      .transaction(() => {
        const stored = db.prepare("select value from hub_meta where key = 'partitionCount'").get() as { value: string } | undefined;
        if (stored !== undefined) return Number(stored.value);
        const count = options.partitionCount ?? 4;
        if (!(Number.isInteger(count) && count >= 1 && count <= 32)) throw new RangeError(`partitionCount must be a whole number from 1 to 32 (got ${count}).`);
        db.prepare("insert into hub_meta (key, value) values ('partitionCount', ?)").run(String(count));
        const insert = db.prepare('insert into hub_partition (id, next_sequence, first_sequence) values (?, ?, ?)');
        for (let i = 0; i < count; i++) insert.run(i, first, first);
        return count;
      })
      .immediate();
    let fileWakers = wakersByFile.get(db.name);
    if (fileWakers === undefined) wakersByFile.set(db.name, (fileWakers = new FileWakers(db.name)));
    fileWakers.users++;
    this.fileWakers = fileWakers;
    this.s = {
      nextSequence: db.prepare('select next_sequence from hub_partition where id = ?').pluck(),
      setNextSequence: db.prepare('update hub_partition set next_sequence = ? where id = ?'),
      insertEvent: db.prepare('insert into hub_event (partition, sequence, enqueued_time, device_id, body, properties) values (?, ?, ?, ?, ?, ?)'),
      prune: db.prepare('delete from hub_event where partition = ? and sequence < ?'),
      setFirst: db.prepare('update hub_partition set first_sequence = max(first_sequence, ?) where id = ?'),
      firstSequence: db.prepare('select first_sequence from hub_partition where id = ?').pluck(),
      // Rows as arrays, not objects: reading is most of what a subscription costs per event.
      events: db
        .prepare(
          'select partition, sequence, enqueued_time, device_id, body, properties from hub_event where partition = ? and sequence >= ? order by sequence limit ?',
        )
        .raw(true),
      checkpoints: db.prepare('select partition, next_sequence from hub_checkpoint where consumer_group = ?'),
      startGroup: db.prepare('insert or ignore into hub_checkpoint (consumer_group, partition, next_sequence) select ?, id, next_sequence from hub_partition'),
      mark: db.prepare('update hub_checkpoint set next_sequence = max(next_sequence, ?) where consumer_group = ? and partition = ?'),
      activity: db.prepare('update hub_device set last_activity = ? where device_id = ?'),
      device: db.prepare('select * from hub_device where device_id = ?'),
      insertDevice: db.prepare("insert into hub_device (device_id, status, tags, desired, reported, version) values (?, 'enabled', ?, ?, '{}', 1)"),
      updateDevice: db.prepare('update hub_device set status = ?, tags = ?, desired = ?, reported = ?, version = version + 1 where device_id = ?'),
      connect: db.prepare('update hub_device set connection_id = ?, connected_until = ?, last_activity = ? where device_id = ?'),
      renew: db.prepare('update hub_device set connected_until = ? where connection_id = ?'),
      disconnect: db.prepare('update hub_device set connection_id = null, connected_until = null where device_id = ? and connection_id = ?'),
      connected: db.prepare("select device_id from hub_device where status = 'enabled' and connected_until > ?").pluck(),
    };
    this.cloudToDevice = new SqliteCloudToDevice(this, options);
  }

  // ---- device-to-cloud ----

  /** A device-to-cloud message as the hub receives it (no connection needed: the simulator's shortcut). */
  async send(deviceId: string, body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void> {
    await this.enqueue(deviceId, body, this.clock.now(), properties);
  }

  /** A recorded device-to-cloud message, stamped with the enqueued time it had when it was recorded instead of now. */
  async sendRecorded(deviceId: string, body: Uint8Array, enqueuedTime: number): Promise<void> {
    await this.enqueue(deviceId, body, enqueuedTime);
  }

  /** Events the consumer group's checkpoints have not passed yet, over every partition (0: it has read and checkpointed everything). */
  uncheckpointed(consumerGroup: string): number {
    const marks = new Map(
      (this.s.checkpoints.all(consumerGroup) as Array<{ partition: number; next_sequence: number }>).map((r) => [r.partition, r.next_sequence]),
    );
    let sum = 0;
    for (let i = 0; i < this.partitionCount; i++) {
      const next = this.s.nextSequence.get(i) as number;
      const first = this.s.firstSequence.get(i) as number;
      sum += next - Math.max(marks.get(i) ?? first, first);
    }
    return sum;
  }

  /**
   * Resolves once the event is in the file. The sends of one turn of the event loop (a fleet's
   * devices sending at once, as the simulator's load mode does) are written together at its end,
   * in one transaction: a transaction's commit costs several times its statements
   * (docs/performance.md, "Twenty-fourth round"). A send awaited before the next adds no wait: the
   * write runs before its `await` returns.
   */
  private enqueue(deviceId: string, body: Uint8Array, enqueuedTime: number, properties?: Readonly<Record<string, string>>): Promise<void> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.writePending());
      this.pending.push({
        deviceId,
        body: Buffer.from(body),
        enqueuedTime,
        properties: properties === undefined ? null : JSON.stringify(properties),
        sentAt: this.clock.now(),
        resolve,
        reject,
      });
    });
  }

  /** Writes the pending sends in one transaction, in the order they were sent: all of them, or (failing) none, each send told. */
  private writePending(): void {
    const sends = this.pending;
    if (sends.length === 0) return;
    this.pending = [];
    try {
      this.db
        .transaction(() => {
          // The write lock is held from here (BEGIN IMMEDIATE): no other connection moves a partition's sequence meanwhile.
          const next = new Map<number, number>();
          const activity = new Map<string, number>();
          for (const send of sends) {
            const partition = partitionOf(send.deviceId, this.partitionCount);
            const sequence = next.get(partition) ?? (this.s.nextSequence.get(partition) as number);
            next.set(partition, sequence + 1);
            this.s.insertEvent.run(partition, sequence, send.enqueuedTime, send.deviceId, send.body, send.properties);
            activity.set(send.deviceId, send.sentAt);
            if (++this.sendsSincePrune >= 1_000) {
              this.sendsSincePrune = 0;
              if (sequence + 1 - this.retention > 0) {
                this.s.prune.run(partition, sequence + 1 - this.retention);
                this.s.setFirst.run(sequence + 1 - this.retention, partition);
              }
            }
          }
          for (const [partition, sequence] of next) this.s.setNextSequence.run(sequence, partition);
          for (const [deviceId, at] of activity) this.s.activity.run(at, deviceId);
        })
        .immediate();
    } catch (e) {
      for (const send of sends) send.reject(e);
      return;
    }
    for (const send of sends) send.resolve();
    this.fileWakers.wake('stream');
  }

  /** Partitions `0` to `partitionCount - 1`, as the file holds them. */
  async partitionIds(): Promise<readonly string[]> {
    return Array.from({ length: this.partitionCount }, (_, i) => String(i));
  }

  async subscribe(consumerGroup: string, handler: TelemetryBatchHandler, options: TelemetrySubscribeOptions = {}): Promise<TelemetrySubscription> {
    this.assertOpen();
    const ids = partitionsToRead(options.partitions, await this.partitionIds()).map(Number);
    // A new consumer group starts at the end of the stream; a known one resumes from its checkpoints (kept in the file).
    const marks = this.db
      .transaction(() => {
        this.s.startGroup.run(consumerGroup);
        return new Map(
          (this.s.checkpoints.all(consumerGroup) as Array<{ partition: number; next_sequence: number }>).map((r) => [r.partition, r.next_sequence]),
        );
      })
      .immediate();
    const byHandler = options.checkpoints === 'by-handler';
    // Indexed by partition number, over every partition of the hub; only those in `ids` are read.
    // What this subscription has handed over, apart from the checkpoint: a failure must not rewind to a checkpoint far behind.
    const delivered = Array.from({ length: this.partitionCount }, (_, i) => marks.get(i) ?? 0);
    const failed: (readonly TelemetryEnvelope[] | undefined)[] = delivered.map(() => undefined);
    const contexts: (TelemetryPartitionContext | undefined)[] = delivered.map(() => undefined);
    for (const i of ids) contexts[i] = this.partitionContext(consumerGroup, i);
    const held = ids.map((i) => contexts[i]!);
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    /** When each partition's failed batch may be handed again (performance.now()). */
    const retryAt = delivered.map(() => 0);
    /** One partition's batches, one after another, until it has nothing more or a batch failed. */
    const read = async (i: number): Promise<void> => {
      while (!closed) {
        let batch = failed[i];
        if (batch === undefined) {
          const from = Math.max(delivered[i]!, this.s.firstSequence.get(i) as number);
          batch = (this.s.events.all(i, from, this.maxBatchSize) as EventRow[]).map(envelopeOf);
        } else if (performance.now() < retryAt[i]!) return;
        if (batch.length === 0) return;
        try {
          await handler(batch, contexts[i]!);
          failed[i] = undefined;
          delivered[i] = batch[batch.length - 1]!.sequenceNumber + 1;
          if (!closed && !byHandler) this.s.mark.run(delivered[i], consumerGroup, i);
        } catch (e) {
          this.options.onHandlerError?.(e as Error, String(i));
          failed[i] = batch;
          retryAt[i] = performance.now() + this.retryDelayMs;
          return;
        }
      }
    };
    // Each partition read on its own, as Event Hubs reads them. A send wakes the readers on the next turn of the event
    // loop, not at once: sends of one burst are handed over together, in batches.
    const readers = new PartitionReaders(ids, read, (e, i) => this.options.onHandlerError?.(e, String(i)));
    const poke = (): void => readers.poke();
    const tick = (): void => {
      if (closed) return;
      poke();
      const retry = Math.min(...ids.map((i) => (failed[i] === undefined ? Infinity : retryAt[i]! - performance.now())));
      timer = setTimeout(tick, Math.max(1, Math.min(this.pollIntervalMs, retry)));
      timer.unref();
    };
    this.fileWakers.here.stream.add(poke);
    tick();
    return {
      close: async () => {
        closed = true;
        clearTimeout(timer);
        this.fileWakers.here.stream.delete(poke);
        await readers.close();
      },
      partitions: () => (closed ? [] : held),
    };
  }

  /** Marks move the consumer group's checkpoint forward only; they work after the subscription closed too. */
  private partitionContext(consumerGroup: string, partition: number): TelemetryPartitionContext {
    const partitionId = String(partition);
    return {
      partitionId,
      checkpoint: async (through) => {
        if (
          through.partitionId !== partitionId ||
          !Number.isInteger(through.sequenceNumber) ||
          through.sequenceNumber < 0 ||
          through.sequenceNumber >= (this.s.nextSequence.get(partition) as number)
        ) {
          throw new Error(
            `Cannot checkpoint partition ${partitionId} through the envelope of partition ${through.partitionId} with sequence number ${through.sequenceNumber}: it was not handed over from this partition.`,
          );
        }
        this.s.mark.run(through.sequenceNumber + 1, consumerGroup, partition);
      },
      lastEnqueuedSequenceNumber: () => (this.s.nextSequence.get(partition) as number) - 1,
    };
  }

  // ---- registry and twins ----

  async registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]> {
    this.assertOpen();
    return this.db.transaction(() => devices.map((d) => this.registerOne(d))).immediate();
  }

  async updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin> {
    this.assertOpen();
    return this.db
      .transaction(() => {
        const row = this.require(deviceId);
        const tags = patch.tags === undefined ? row.tags : JSON.stringify(mergePatch(JSON.parse(row.tags) as Json, patch.tags));
        const desired =
          patch.desiredProperties === undefined ? row.desired : JSON.stringify(mergePatch(JSON.parse(row.desired) as Json, patch.desiredProperties));
        this.s.updateDevice.run(row.status, tags, desired, row.reported, deviceId);
        return this.twinOf(this.s.device.get(deviceId) as DeviceRow);
      })
      .immediate();
  }

  async getTwin(deviceId: string): Promise<DeviceTwin | undefined> {
    const row = this.s.device.get(deviceId) as DeviceRow | undefined;
    return row === undefined ? undefined : this.twinOf(row);
  }

  async getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]> {
    return deviceIds.flatMap((id) => {
      const row = this.s.device.get(id) as DeviceRow | undefined;
      return row === undefined ? [] : [this.twinOf(row)];
    });
  }

  async connectedDeviceIds(): Promise<string[]> {
    return this.s.connected.all(this.clock.now()) as string[];
  }

  /** Disables a device: it can no longer connect (what an operator does in the portal). */
  async disable(deviceId: string): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.require(deviceId);
        this.s.updateDevice.run('disabled', row.tags, row.desired, row.reported, deviceId);
      })
      .immediate();
  }

  /** Whether a device exists, enabled, so it may connect and be sent messages. */
  isEnabled(deviceId: string): boolean {
    return (this.s.device.get(deviceId) as DeviceRow | undefined)?.status === 'enabled';
  }

  private registerOne(registration: DeviceRegistration): DeviceRegistrationResult {
    const { deviceId } = registration;
    if (!isHubDeviceId(deviceId)) {
      return {
        deviceId,
        ok: false,
        error: {
          code: 'InvalidDeviceId',
          message: `"${deviceId}" is not an IoT Hub device id (1 to 128 letters, digits or - : . + % _ # * ? ! ( ) , = @ ; $ ').`,
        },
      };
    }
    const row = this.s.device.get(deviceId) as DeviceRow | undefined;
    if (row !== undefined) {
      const tags = registration.tags === undefined ? row.tags : JSON.stringify(mergePatch(JSON.parse(row.tags) as Json, registration.tags));
      const desired =
        registration.desiredProperties === undefined
          ? row.desired
          : JSON.stringify(mergePatch(JSON.parse(row.desired) as Json, registration.desiredProperties));
      this.s.updateDevice.run('enabled', tags, desired, row.reported, deviceId);
      return { deviceId, ok: true, existed: true };
    }
    this.s.insertDevice.run(
      deviceId,
      JSON.stringify(mergePatch({}, registration.tags ?? {})),
      JSON.stringify(mergePatch({}, registration.desiredProperties ?? {})),
    );
    return { deviceId, ok: true, existed: false };
  }

  private require(deviceId: string): DeviceRow {
    const row = this.s.device.get(deviceId) as DeviceRow | undefined;
    if (row === undefined) throw new DeviceRegistryError('DeviceNotFound', `The hub has no device "${deviceId}".`);
    return row;
  }

  private twinOf(row: DeviceRow): DeviceTwin {
    return {
      deviceId: row.device_id,
      status: row.status,
      connectionState: row.connected_until !== null && row.connected_until > this.clock.now() ? 'Connected' : 'Disconnected',
      ...(row.last_activity === null ? {} : { lastActivityTime: row.last_activity }),
      tags: JSON.parse(row.tags) as Record<string, unknown>,
      desired: JSON.parse(row.desired) as Record<string, unknown>,
      reported: JSON.parse(row.reported) as Record<string, unknown>,
      version: row.version,
    };
  }

  // ---- the device side ----

  /** Connects as a registered, enabled device; a newer connection of the same device (in any process) replaces the older one. */
  async connect(deviceId: string): Promise<DeviceConnection> {
    this.assertOpen();
    if (!this.isEnabled(deviceId))
      throw new DeviceRegistryError('DeviceNotFound', `Device "${deviceId}" is not registered or is disabled; the hub refuses its connection.`);
    await this.connections.get(deviceId)?.close();
    const connectionId = randomUUID();
    let closed = false;
    let receiver: { stop(): Promise<void> } | undefined;
    const assertOpen = (): void => {
      if (closed || this.closed) throw new DeviceConnectionError('ConnectionClosed', `The connection of device "${deviceId}" is closed.`);
    };
    const connection: DeviceConnection = {
      deviceId,
      sendTelemetry: async (body, properties) => {
        assertOpen();
        await this.send(deviceId, body, properties);
      },
      onCloudToDeviceMessage: (handler) => {
        assertOpen();
        if (receiver !== undefined) throw new DeviceConnectionError('HandlerExists', `Device "${deviceId}" has a cloud-to-device handler already.`);
        receiver = this.cloudToDevice.receive(deviceId, connectionId, handler);
      },
      reportProperties: async (patch) => {
        assertOpen();
        this.db
          .transaction(() => {
            const row = this.require(deviceId);
            this.s.updateDevice.run(row.status, row.tags, row.desired, JSON.stringify(mergePatch(JSON.parse(row.reported) as Json, patch)), deviceId);
            this.s.activity.run(this.clock.now(), deviceId);
          })
          .immediate();
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await receiver?.stop();
        if (this.connections.get(deviceId)?.connectionId === connectionId) this.connections.delete(deviceId);
        this.s.disconnect.run(deviceId, connectionId);
        if (this.connections.size === 0) this.stopLeases();
      },
    };
    const now = this.clock.now();
    this.s.connect.run(connectionId, now + this.leaseMs, now, deviceId);
    this.connections.set(deviceId, { connectionId, close: connection.close });
    this.startLeases();
    return connection;
  }

  /** Closes this process's device connections and stops its timers; the file is its opener's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Sends made before the close are written, not lost.
    this.writePending();
    for (const c of [...this.connections.values()]) await c.close();
    await this.cloudToDevice.close();
    this.closed = true;
    this.stopLeases();
    this.fileWakers.wakeHere();
    if (--this.fileWakers.users === 0) {
      this.fileWakers.close();
      wakersByFile.delete(this.db.name);
    }
  }

  /** @internal Wakes the devices' side (cloud-to-device receivers, feedback subscribers) of this process on the same file: this thread's at once, the others' on the next microtask. */
  wakeDevices(): void {
    this.fileWakers.wake('devices');
  }

  /** @internal A waker of the devices' side. */
  addWaker(waker: () => void): () => void {
    this.fileWakers.here.devices.add(waker);
    return () => this.fileWakers.here.devices.delete(waker);
  }

  private startLeases(): void {
    if (this.leaseTimer !== undefined) return;
    this.leaseTimer = setInterval(
      () => {
        if (this.closed) return;
        const until = this.clock.now() + this.leaseMs;
        this.db.transaction(() => {
          for (const c of this.connections.values()) this.s.renew.run(until, c.connectionId);
        })();
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    this.leaseTimer.unref();
  }

  private stopLeases(): void {
    clearInterval(this.leaseTimer);
    this.leaseTimer = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The hub is closed.');
  }

  /** @internal */
  get file(): SqliteFile {
    return this.db;
  }

  /** @internal */
  get hubClock(): ClockPort {
    return this.clock;
  }

  /** @internal */
  get pollMs(): number {
    return this.pollIntervalMs;
  }
}

/**
 * The hub's cloud-to-device side on the hub file: a queue per device (at most 50 pending), each
 * message with a time to live, handed to the device one at a time and in order, locked while the
 * device holds it; delivery feedback kept in the file until a subscriber settles it. A device
 * that goes away (or whose process dies) unsettled has not taken the message: it comes again.
 */
export class SqliteCloudToDevice implements CloudToDevicePort {
  private readonly maxDeliveryCount: number;
  private readonly lockMs: number;
  private readonly feedbackRetryDelayMs: number;
  private readonly stoppers = new Set<() => Promise<void>>();
  /** The receive loops of this process's connected devices, by device: woken together by one look at the file per poll (`scanDevices`). */
  private readonly receivers = new Map<string, Set<() => void>>();
  private scanner: { stop(): void } | undefined;
  private closed = false;
  private readonly s;

  constructor(
    private readonly hub: SqliteIotHub,
    options: SqliteIotHubOptions = {},
  ) {
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.lockMs = options.deviceLockTimeoutMs ?? 60_000;
    this.feedbackRetryDelayMs = options.feedbackRetryDelayMs ?? 1_000;
    const db = hub.file;
    this.s = {
      pending: db.prepare('select count(*) from hub_c2d where device_id = ?').pluck(),
      insert: db.prepare('insert into hub_c2d (device_id, message_id, body, correlation_id, properties, expires_at) values (?, ?, ?, ?, ?, ?)'),
      expired: db.prepare('select * from hub_c2d where expires_at <= ? and (lock_token is null or locked_until <= ?)'),
      anyExpired: db.prepare('select 1 from hub_c2d where expires_at <= ? and (lock_token is null or locked_until <= ?) limit 1').pluck(),
      head: db.prepare('select * from hub_c2d where device_id = ? order by seq limit 1'),
      takeable: db.prepare('select distinct device_id from hub_c2d where lock_token is null or locked_until <= ?').pluck(),
      headLocked: db.prepare('select lock_token, locked_until from hub_c2d where seq = ?'),
      lock: db.prepare('update hub_c2d set delivery_count = delivery_count + 1, lock_token = ?, locked_until = ? where seq = ?'),
      remove: db.prepare('delete from hub_c2d where seq = ?'),
      removeLocked: db.prepare('delete from hub_c2d where seq = ? and lock_token = ?'),
      unlock: db.prepare('update hub_c2d set lock_token = null, locked_until = null where seq = ? and lock_token = ?'),
      addFeedback: db.prepare('insert into hub_feedback (original_message_id, device_id, status, description, enqueued_time) values (?, ?, ?, ?, ?)'),
      takeFeedback: db.prepare('select * from hub_feedback where lock_token is null or locked_until <= ? order by seq limit ?'),
      lockFeedback: db.prepare('update hub_feedback set lock_token = ?, locked_until = ? where seq = ?'),
      settleFeedback: db.prepare('delete from hub_feedback where lock_token = ?'),
      releaseFeedback: db.prepare('update hub_feedback set lock_token = null, locked_until = null where lock_token = ?'),
    };
  }

  async send(message: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>> {
    if (message.body.byteLength > C2D_MAX_BYTES)
      return err({
        code: 'MessageTooLarge',
        message: `The body is ${message.body.byteLength} bytes; a cloud-to-device message holds at most ${C2D_MAX_BYTES}.`,
      });
    if (!this.hub.isEnabled(message.deviceId)) return err({ code: 'DeviceNotFound', message: `The hub has no device "${message.deviceId}".` });
    this.expireDue();
    const now = this.hub.hubClock.now();
    const full = this.hub.file
      .transaction(() => {
        if ((this.s.pending.get(message.deviceId) as number) >= C2D_MAX_PENDING_PER_DEVICE) return true;
        this.s.insert.run(
          message.deviceId,
          message.messageId,
          Buffer.from(message.body),
          message.correlationId ?? null,
          message.properties === undefined ? null : JSON.stringify(message.properties),
          now + (message.ttlMs ?? C2D_DEFAULT_TTL_MS),
        );
        return false;
      })
      .immediate();
    if (full)
      return err({
        code: 'DeviceQueueFull',
        message: `Device "${message.deviceId}" has ${C2D_MAX_PENDING_PER_DEVICE} messages pending already; the hub takes more once it has received some.`,
      });
    this.hub.wakeDevices();
    return ok(undefined);
  }

  async subscribeFeedback(handler: (feedback: readonly DeliveryFeedback[]) => Promise<void>): Promise<FeedbackSubscription> {
    let stopped = false;
    let retryAt = 0;
    const pump = async (): Promise<void> => {
      while (!stopped && !this.closed && Date.now() >= retryAt) {
        // The subscriber's loop is where messages past their time to live turn into Expired feedback, whoever sent them.
        this.expireDue();
        const token = randomUUID();
        const rows = this.hub.file
          .transaction(() => {
            const now = this.hub.hubClock.now();
            const taken = this.s.takeFeedback.all(now, FEEDBACK_BATCH) as FeedbackRow[];
            for (const r of taken) this.s.lockFeedback.run(token, now + FEEDBACK_LOCK_MS, r.seq);
            return taken;
          })
          .immediate();
        if (rows.length === 0) return;
        try {
          await handler(
            rows.map((r) => ({
              originalMessageId: r.original_message_id,
              deviceId: r.device_id,
              status: r.status,
              description: r.description,
              enqueuedTime: r.enqueued_time,
            })),
          );
          this.s.settleFeedback.run(token);
        } catch {
          // Not settled: the same feedback comes again, after a pause so a failing store is not hammered.
          this.s.releaseFeedback.run(token);
          retryAt = Date.now() + this.feedbackRetryDelayMs;
          return;
        }
      }
    };
    const loop = pollHub(this.hub, pump, () => stopped);
    const stop = async (): Promise<void> => {
      stopped = true;
      loop.stop();
      this.stoppers.delete(stop);
      await loop.running();
    };
    this.stoppers.add(stop);
    return { close: stop };
  }

  /** Messages waiting for a device, the one it holds included. */
  pendingCount(deviceId: string): number {
    return this.s.pending.get(deviceId) as number;
  }

  /** Turns messages past their time to live (and not held by a device) into Expired feedback. */
  expireDue(): void {
    // Looked for first without the write lock, which most calls (every poll of the devices' side) would take for nothing.
    const at = this.hub.hubClock.now();
    if (this.s.anyExpired.get(at, at) === undefined) return;
    const changed = this.hub.file
      .transaction(() => {
        const now = this.hub.hubClock.now();
        const rows = this.s.expired.all(now, now) as C2dRow[];
        for (const r of rows) {
          this.s.remove.run(r.seq);
          this.s.addFeedback.run(r.message_id, r.device_id, 'Expired', FEEDBACK_DESCRIPTION.Expired, now);
        }
        return rows.length > 0;
      })
      .immediate();
    if (changed) this.hub.wakeDevices();
  }

  /** @internal The device's receive loop, while its connection is open. */
  receive(
    deviceId: string,
    connectionId: string,
    handler: (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>,
  ): { stop(): Promise<void> } {
    let stopped = false;
    let detach!: (value: 'detached') => void;
    const detached = new Promise<'detached'>((resolve) => (detach = resolve));
    let held: { seq: number; token: string } | undefined;
    const pump = async (): Promise<void> => {
      while (!stopped && !this.closed) {
        this.expireDue();
        // Looked at first without the write lock: a receiver polls (and is woken by every write of the devices' side)
        // far more often than its device has a message to take.
        const first = this.s.head.get(deviceId) as { lock_token: string | null; locked_until: number | null } | undefined;
        if (first === undefined || (first.lock_token !== null && (first.locked_until ?? 0) > this.hub.hubClock.now())) return;
        const token = `${connectionId}:${randomUUID()}`;
        const head = this.hub.file
          .transaction(() => {
            const now = this.hub.hubClock.now();
            // A newer connection of the device (in any process) replaced this one: it receives nothing more, as the hub drops the older connection.
            if (this.hub.connectionOf(deviceId) !== connectionId) return undefined;
            const row = this.s.head.get(deviceId) as (C2dRow & { lock_token: string | null; locked_until: number | null }) | undefined;
            if (row === undefined || (row.lock_token !== null && (row.locked_until ?? 0) > now)) return undefined;
            this.s.lock.run(token, now + this.lockMs, row.seq);
            return { ...row, delivery_count: row.delivery_count + 1 };
          })
          .immediate();
        if (head === undefined) return;
        held = { seq: head.seq, token };
        let outcome: DeviceMessageOutcome;
        try {
          const answer = handler({
            messageId: head.message_id,
            body: new Uint8Array(head.body),
            ...(head.correlation_id === null ? {} : { correlationId: head.correlation_id }),
            ...(head.properties === null ? {} : { properties: JSON.parse(head.properties) as Record<string, string> }),
          });
          const settled = await Promise.race([answer, detached]);
          outcome = settled === 'detached' ? 'abandon' : settled;
        } catch {
          // A device that fails while handling a message has not taken it: the hub delivers it again.
          outcome = 'abandon';
        }
        held = undefined;
        this.settle(head, token, outcome);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    const loop = pumpRunner(pump, () => stopped);
    const unwatch = this.watch(deviceId, loop.poke);
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      unwatch();
      detach('detached');
      const holding = held;
      await loop.running();
      // A device that went away before settling has not taken the message: unlocked, it comes again at once.
      if (holding !== undefined) this.s.unlock.run(holding.seq, holding.token);
      this.stoppers.delete(stop);
    };
    this.stoppers.add(stop);
    return { stop };
  }

  /**
   * Wakes `poke` (a receive loop of `deviceId`) now, and whenever one look at the file, at each poll
   * or write of the devices' side in this process, finds a message its device could take: one query
   * for all of this process's devices, where a loop per device polling on its own cost a query each
   * (a thousand idle devices kept about a third of a core busy; docs/performance.md, "Twenty-fourth
   * round"). Returns what stops it.
   */
  private watch(deviceId: string, poke: () => void): () => void {
    let pokes = this.receivers.get(deviceId);
    if (pokes === undefined) this.receivers.set(deviceId, (pokes = new Set()));
    pokes.add(poke);
    this.scanner ??= pollHub(
      this.hub,
      async () => this.scanDevices(),
      () => this.closed || this.receivers.size === 0,
    );
    poke();
    return () => {
      pokes.delete(poke);
      if (pokes.size === 0 && this.receivers.get(deviceId) === pokes) this.receivers.delete(deviceId);
      if (this.receivers.size === 0) {
        this.scanner?.stop();
        this.scanner = undefined;
      }
    };
  }

  /** Messages past their time to live expire; the receive loops of the devices with a message they could take are woken. */
  private scanDevices(): void {
    this.expireDue();
    for (const deviceId of this.s.takeable.all(this.hub.hubClock.now()) as string[]) {
      for (const poke of [...(this.receivers.get(deviceId) ?? [])]) poke();
    }
  }

  private settle(row: C2dRow, token: string, outcome: DeviceMessageOutcome): void {
    this.hub.file
      .transaction(() => {
        const current = this.s.headLocked.get(row.seq) as { lock_token: string | null } | undefined;
        // Held too long: the lock passed to another delivery, or the message expired meanwhile; this settlement is late and changes nothing.
        if (current?.lock_token !== token) return;
        const now = this.hub.hubClock.now();
        if (outcome === 'complete' || outcome === 'reject') {
          this.s.removeLocked.run(row.seq, token);
          const status = outcome === 'complete' ? 'Success' : 'Rejected';
          this.s.addFeedback.run(row.message_id, row.device_id, status, FEEDBACK_DESCRIPTION[status], now);
        } else if (row.delivery_count >= this.maxDeliveryCount) {
          this.s.removeLocked.run(row.seq, token);
          this.s.addFeedback.run(row.message_id, row.device_id, 'DeliveryCountExceeded', FEEDBACK_DESCRIPTION.DeliveryCountExceeded, now);
        } else this.s.unlock.run(row.seq, token);
      })
      .immediate();
    this.hub.wakeDevices();
  }

  /** Stops the feedback subscribers and device receivers of this process. */
  async close(): Promise<void> {
    for (const stop of [...this.stoppers]) await stop();
    this.closed = true;
  }
}

function envelopeOf([partition, sequence, enqueuedTime, deviceId, body, properties]: EventRow): TelemetryEnvelope {
  return {
    // A plain Uint8Array over the Buffer SQLite's row was read into, not a copy of it.
    body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
    connectionDeviceId: deviceId,
    enqueuedTime,
    partitionId: String(partition),
    sequenceNumber: sequence,
    ...(properties === null ? {} : { properties: JSON.parse(properties) as Record<string, string> }),
  };
}

/** Stable partition assignment by device id (FNV-1a), the same as the in-memory hub's. */
export function partitionOf(deviceId: string, partitionCount: number): number {
  let hash = 2166136261;
  for (let i = 0; i < deviceId.length; i++) hash = Math.imul(hash ^ deviceId.charCodeAt(i), 16777619);
  return (hash >>> 0) % partitionCount;
}

/**
 * Runs `pump` at once, every poll interval of the hub, and whenever the hub is woken (a write of
 * this process); never two runs at once. `stop` ends the schedule; `running` is the run in progress.
 */
function pollHub(
  hub: { readonly pollMs: number; addWaker(waker: () => void): () => void },
  pump: () => Promise<void>,
  stopped: () => boolean,
): { stop(): void; running(): Promise<void> | undefined } {
  let timer: NodeJS.Timeout | undefined;
  const { poke, running } = pumpRunner(pump, stopped);
  const tick = (): void => {
    if (stopped()) return;
    poke();
    timer = setTimeout(tick, hub.pollMs);
    timer.unref();
  };
  const removeWaker = hub.addWaker(poke);
  tick();
  return {
    stop: () => {
      clearTimeout(timer);
      removeWaker();
    },
    running,
  };
}

/** Runs `pump` when poked, never two runs at once: a poke during a run is dropped (the run's loop looks again; the next poll finds what it missed). */
function pumpRunner(pump: () => Promise<void>, stopped: () => boolean): { poke(): void; running(): Promise<void> | undefined } {
  let running: Promise<void> | undefined;
  return {
    poke: () => {
      if (stopped()) return;
      running ??= pump()
        .catch(() => undefined)
        .finally(() => (running = undefined));
    },
    running: () => running,
  };
}
