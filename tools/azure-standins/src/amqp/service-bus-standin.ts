import { randomUUID } from 'node:crypto';
import rhea, { type Connection, type Delivery, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { AmqpEndpoint, settleWith, type ConnectionGrants, type ManagementReply } from './amqp-endpoint.js';
import type { SharedAccessPolicy } from './shared-access-signature.js';

export interface StandinQueueSettings {
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
  readonly duplicateDetectionWindowMs: number;
}

export const defaultQueueSettings: StandinQueueSettings = { lockDurationMs: 30_000, maxDeliveryCount: 10, duplicateDetectionWindowMs: 10 * 60_000 };

/** Service Bus encodes several messages in one transfer with this message format. */
const BATCH_FORMAT = 0x80013700;
const DEAD_LETTER_SUFFIX = '/$deadletterqueue';
const LOCK_LOST = 'com.microsoft:message-lock-lost';
const SERVER_BUSY = 'com.microsoft:server-busy';

interface StoredMessage {
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  readonly message: Message;
  /** Deliveries made so far; the header carries the count before the current one. */
  deliveryCount: number;
  lock?: Lock;
  deadLetter?: { readonly reason: string; readonly description: string };
}

interface Lock {
  readonly token: string;
  lockedUntil: number;
  timer: NodeJS.Timeout;
  readonly delivery?: Delivery;
}

class StandinQueue {
  readonly active: StoredMessage[] = [];
  readonly deadLetters: StoredMessage[] = [];
  readonly seenIds = new Map<string, number>();
  readonly locks = new Map<string, StoredMessage>();
  readonly receivers = new Set<Sender>();
  readonly deadLetterReceivers = new Set<Sender>();
  nextSequenceNumber = 1;
  constructor(
    readonly name: string,
    readonly settings: StandinQueueSettings,
  ) {}
}

/**
 * A Service Bus namespace on loopback, plain AMQP (what `UseDevelopmentEmulator=true` makes the
 * SDK speak), with queues only. Kept: SAS put-token on `$cbs`, peek-lock delivery under link
 * credit and drain, lock tokens as delivery tags (in the .NET byte order the SDK expects),
 * complete/abandon/dead-letter by disposition or by `$management` update-disposition, lock
 * expiry with redelivery, max delivery count, the `<queue>/$DeadLetterQueue` subqueue, duplicate
 * detection on message id, batch transfers (format 0x80013700), and the `$management`
 * operations renew-lock and peek-message. Not implemented: topics, sessions, deferral,
 * scheduling, transactions, receive-and-delete settle mode, message expiry (TTL), partitioning.
 */
export class ServiceBusStandin {
  private readonly queues = new Map<string, StandinQueue>();
  private readonly endpoint: AmqpEndpoint;
  private port = 0;
  /** Fault injection (see `serverBusy`, `holdDeliveries`, `redeliverLocked`): until when each fault lasts. */
  private readonly faults = { busyUntil: 0, heldUntil: 0, busyRefusals: 0, heldTimer: undefined as NodeJS.Timeout | undefined };

  constructor(private readonly policy: SharedAccessPolicy = { keyName: 'RootManageSharedAccessKey', key: randomUUID() }) {
    this.endpoint = new AmqpEndpoint(
      { policies: [policy] },
      {
        senderOpened: (sender, grants) => this.onClientReceiver(sender, grants),
        receiverOpened: (receiver, grants) => this.onClientSender(receiver, grants),
        management: (entityPath, request) => this.onManagement(entityPath, request),
        connectionClosed: (connection) => this.onConnectionClosed(connection),
      },
    );
  }

  async start(): Promise<this> {
    this.port = await this.endpoint.start();
    return this;
  }

  async stop(): Promise<void> {
    clearTimeout(this.faults.heldTimer);
    for (const queue of this.queues.values()) for (const m of queue.locks.values()) clearTimeout(m.lock?.timer);
    await this.endpoint.stop();
  }

  /** Fault injection: drops every client connection at the socket (see AmqpEndpoint.dropConnections). */
  dropConnections(): number {
    return this.endpoint.dropConnections();
  }

  /**
   * Fault injection: for `forMs` the namespace is throttled, as Service Bus is past its limits:
   * every message sent is refused with `com.microsoft:server-busy` and every `$management`
   * request (settlement, lock renewal, peek) answered 503 with it; the SDK retries such errors
   * (https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-messaging-exceptions-latest#reason-serverbusy).
   */
  serverBusy(forMs: number): void {
    this.faults.busyUntil = Math.max(this.faults.busyUntil, Date.now() + forMs);
  }

  /** Sends and management requests refused as server-busy so far. */
  get serverBusyRefusals(): number {
    return this.faults.busyRefusals;
  }

  /** Fault injection: no message is delivered to a receiver for `forMs` (a slow namespace); then delivery resumes. */
  holdDeliveries(forMs: number): void {
    this.faults.heldUntil = Math.max(this.faults.heldUntil, Date.now() + forMs);
    clearTimeout(this.faults.heldTimer);
    this.faults.heldTimer = setTimeout(() => {
      for (const queue of this.queues.values()) this.pump(queue);
    }, this.faults.heldUntil - Date.now());
  }

  /**
   * Fault injection: every message locked now loses its lock at once, as when its lock lapses,
   * and is delivered again (its delivery count grows); settling it with the old lock fails with
   * MessageLockLost. Returns how many messages were unlocked.
   */
  redeliverLocked(): number {
    let unlocked = 0;
    for (const queue of this.queues.values()) {
      for (const [token, stored] of [...queue.locks]) {
        this.expire(queue, stored, token);
        unlocked++;
      }
    }
    return unlocked;
  }

  private busy(): boolean {
    if (Date.now() >= this.faults.busyUntil) return false;
    this.faults.busyRefusals++;
    return true;
  }

  get connectionString(): string {
    return `Endpoint=sb://127.0.0.1:${this.port};SharedAccessKeyName=${this.policy.keyName};SharedAccessKey=${this.policy.key};UseDevelopmentEmulator=true`;
  }

  createQueue(name: string, settings: Partial<StandinQueueSettings> = {}): void {
    this.queues.set(name.toLowerCase(), new StandinQueue(name, { ...defaultQueueSettings, ...settings }));
  }

  /** The queue's dead letters as the service holds them: message id, reason and description (a test's ground truth). */
  deadLetters(name: string): Array<{ messageId: string; reason: string; description: string }> {
    const queue = this.queues.get(name.toLowerCase());
    if (!queue) throw new Error(`No queue ${name}`);
    return queue.deadLetters.map((m) => ({
      messageId: String(m.message.message_id ?? ''),
      reason: m.deadLetter?.reason ?? '',
      description: m.deadLetter?.description ?? '',
    }));
  }

  /** What the queue holds, for tests that check the stand-in itself. */
  counts(name: string): { active: number; deadLetters: number; locked: number } {
    const queue = this.queues.get(name.toLowerCase());
    if (!queue) throw new Error(`No queue ${name}`);
    return { active: queue.active.length, deadLetters: queue.deadLetters.length, locked: queue.locks.size };
  }

  private resolve(address: string): { queue: StandinQueue; deadLetter: boolean } | undefined {
    const lower = address.toLowerCase();
    const deadLetter = lower.endsWith(DEAD_LETTER_SUFFIX);
    const queue = this.queues.get(deadLetter ? lower.slice(0, -DEAD_LETTER_SUFFIX.length) : lower);
    return queue ? { queue, deadLetter } : undefined;
  }

  private refuse(link: Sender | Receiver, grants: ConnectionGrants, address: string): boolean {
    if (!AmqpEndpoint.covers(grants, address)) {
      link.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access to '${address}': no put-token covers it.` });
      return true;
    }
    if (!this.resolve(address)) {
      link.close({ condition: 'amqp:not-found', description: `The messaging entity '${address}' could not be found.` });
      return true;
    }
    return false;
  }

  // ---- the client sends: we receive ----

  private onClientSender(receiver: Receiver, grants: ConnectionGrants): void {
    const address = receiver.target?.address ?? '';
    if (this.refuse(receiver, grants, address)) return;
    const { queue } = this.resolve(address)!;
    receiver.set_target({ address });
    // Service Bus announces the largest message it takes; the SDK sizes its batches by it.
    (receiver as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size = 256 * 1024;
    receiver.on('message', (context: EventContext) => {
      const delivery = context.delivery!;
      // rhea decodes only format 0; a batch arrives as the raw bytes of its envelope.
      const raw = context.message as unknown;
      const incoming = Buffer.isBuffer(raw) ? (rhea.message.decode(raw) as unknown as Message) : (raw as Message);
      if (this.busy()) {
        settleWith(delivery, {
          condition: SERVER_BUSY,
          description: `The request was terminated because the entity is being throttled. Error code : 50009. Please wait 2 seconds and try again.`,
        });
        return;
      }
      const messages = delivery.format === BATCH_FORMAT ? unpackBatch(incoming) : [incoming];
      for (const message of messages) this.enqueue(queue, message);
      delivery.accept();
      this.pump(queue);
    });
  }

  private enqueue(queue: StandinQueue, message: Message): void {
    const now = Date.now();
    for (const [id, seenAt] of queue.seenIds) if (seenAt + queue.settings.duplicateDetectionWindowMs < now) queue.seenIds.delete(id);
    const id = message.message_id === undefined ? undefined : String(message.message_id);
    if (id !== undefined) {
      // Duplicate detection: the send succeeds, the copy is dropped.
      if (queue.seenIds.has(id)) return;
      queue.seenIds.set(id, now);
    }
    queue.active.push({ sequenceNumber: queue.nextSequenceNumber++, enqueuedTime: now, message, deliveryCount: 0 });
  }

  // ---- the client receives: we send ----

  private onClientReceiver(sender: Sender, grants: ConnectionGrants): void {
    const address = sender.source?.address ?? '';
    if (this.refuse(sender, grants, address)) return;
    const { queue, deadLetter } = this.resolve(address)!;
    sender.set_source({ address });
    const pool = deadLetter ? queue.deadLetterReceivers : queue.receivers;
    pool.add(sender);
    sender.on('sendable', () => this.pump(queue));
    sender.on('sender_draining', () => {
      this.pump(queue);
      answerDrain(sender);
    });
    const settle = (context: EventContext): void => this.onDisposition(queue, context.delivery!);
    for (const outcome of ['accepted', 'released', 'rejected', 'modified']) sender.on(outcome, settle);
    const forget = (): void => {
      pool.delete(sender);
    };
    sender.on('sender_close', forget);
    sender.on('sender_error', forget);
    this.pump(queue);
  }

  /**
   * A connection went away (closed, or dropped at the socket): its receive links went with it and
   * get no more deliveries. What was delivered on them stays locked until the lock lapses (or is
   * settled by lock token through `$management`), then comes again with its delivery count grown
   * (https://learn.microsoft.com/azure/service-bus-messaging/message-transfers-locks-settlement#peeklock).
   */
  private onConnectionClosed(connection: Connection): void {
    for (const queue of this.queues.values()) {
      for (const pool of [queue.receivers, queue.deadLetterReceivers])
        for (const sender of [...pool]) if (sender.connection === connection) pool.delete(sender);
    }
  }

  private pump(queue: StandinQueue): void {
    if (Date.now() < this.faults.heldUntil) return; // holdDeliveries: the timer pumps again
    for (const stored of queue.active) {
      if (stored.lock) continue;
      const sender = [...queue.receivers].find((s) => s.is_open() && s.sendable());
      if (!sender) break;
      this.deliver(queue, stored, sender);
    }
    for (const stored of queue.deadLetters) {
      if (stored.lock) continue;
      const sender = [...queue.deadLetterReceivers].find((s) => s.is_open() && s.sendable());
      if (!sender) break;
      this.deliver(queue, stored, sender);
    }
  }

  private deliver(queue: StandinQueue, stored: StoredMessage, sender: Sender): void {
    const token = randomUUID();
    const lockedUntil = Date.now() + queue.settings.lockDurationMs;
    const wire = this.onWire(stored, lockedUntil);
    stored.deliveryCount += 1;
    const delivery = sender.send(wire, lockTokenTag(token));
    const timer = setTimeout(() => this.expire(queue, stored, token), queue.settings.lockDurationMs);
    stored.lock = { token, lockedUntil, timer, delivery };
    queue.locks.set(token, stored);
  }

  private onWire(stored: StoredMessage, lockedUntil?: number): Message {
    const annotations: Record<string, unknown> = {
      ...(stored.message.message_annotations as Record<string, unknown> | undefined),
      'x-opt-sequence-number': rhea.types.wrap_long(stored.sequenceNumber),
      'x-opt-enqueued-time': new Date(stored.enqueuedTime),
    };
    if (lockedUntil !== undefined) annotations['x-opt-locked-until'] = new Date(lockedUntil);
    const applicationProperties = { ...(stored.message.application_properties as Record<string, unknown> | undefined) };
    if (stored.deadLetter) {
      applicationProperties['DeadLetterReason'] = stored.deadLetter.reason;
      applicationProperties['DeadLetterErrorDescription'] = stored.deadLetter.description;
    }
    return { ...stored.message, delivery_count: stored.deliveryCount, message_annotations: annotations, application_properties: applicationProperties };
  }

  private unlock(queue: StandinQueue, stored: StoredMessage): void {
    if (!stored.lock) return;
    clearTimeout(stored.lock.timer);
    queue.locks.delete(stored.lock.token);
    delete stored.lock;
  }

  private expire(queue: StandinQueue, stored: StoredMessage, token: string): void {
    if (stored.lock?.token !== token) return;
    this.unlock(queue, stored);
    this.afterFailedDelivery(queue, stored);
    this.pump(queue);
  }

  /** An abandoned or expired message comes back, unless it has used up its deliveries. */
  private afterFailedDelivery(queue: StandinQueue, stored: StoredMessage): void {
    if (stored.deadLetter) return; // dead letters stay where they are
    if (stored.deliveryCount >= queue.settings.maxDeliveryCount) {
      this.moveToDeadLetters(queue, stored, {
        reason: 'MaxDeliveryCountExceeded',
        description: `Message could not be consumed after ${queue.settings.maxDeliveryCount} delivery attempts.`,
      });
    }
  }

  private moveToDeadLetters(queue: StandinQueue, stored: StoredMessage, details: { reason: string; description: string }): void {
    const at = queue.active.indexOf(stored);
    if (at >= 0) queue.active.splice(at, 1);
    stored.deadLetter = details;
    queue.deadLetters.push(stored);
  }

  private remove(queue: StandinQueue, stored: StoredMessage): void {
    const list = stored.deadLetter ? queue.deadLetters : queue.active;
    const at = list.indexOf(stored);
    if (at >= 0) list.splice(at, 1);
  }

  private onDisposition(queue: StandinQueue, delivery: Delivery): void {
    const token = tokenOfTag(delivery.tag);
    const stored = token === undefined ? undefined : queue.locks.get(token);
    if (!stored || stored.lock?.delivery !== delivery) {
      settleWith(delivery, {
        condition: LOCK_LOST,
        description: 'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
      });
      return;
    }
    const state = delivery.remote_state as { error?: { condition?: string; info?: Record<string, unknown> }; undeliverable_here?: boolean } | undefined;
    const outcome = outcomeOf(delivery);
    if (outcome === 'modified' && state?.undeliverable_here) {
      settleWith(delivery, { condition: 'amqp:not-implemented', description: 'Deferral is not implemented by this stand-in.' });
      return;
    }
    this.applyDisposition(queue, stored, outcome === 'accepted' ? 'completed' : outcome === 'rejected' ? 'suspended' : 'abandoned', {
      reason: String(state?.error?.info?.['DeadLetterReason'] ?? ''),
      description: String(state?.error?.info?.['DeadLetterErrorDescription'] ?? ''),
    });
    settleWith(delivery, 'accepted');
    this.pump(queue);
  }

  private applyDisposition(
    queue: StandinQueue,
    stored: StoredMessage,
    status: 'completed' | 'abandoned' | 'suspended',
    deadLetter: { reason: string; description: string },
  ): void {
    this.unlock(queue, stored);
    if (status === 'completed') this.remove(queue, stored);
    else if (status === 'suspended') this.moveToDeadLetters(queue, stored, deadLetter);
    else this.afterFailedDelivery(queue, stored);
  }

  // ---- $management ----

  private onManagement(entityPath: string, request: Message): ManagementReply {
    const target = this.resolve(entityPath);
    if (!target) return { statusCode: 404, statusDescription: `The messaging entity '${entityPath}' could not be found.`, errorCondition: 'amqp:not-found' };
    if (this.busy())
      return {
        statusCode: 503,
        statusDescription: 'The request was terminated because the entity is being throttled. Please wait 2 seconds and try again.',
        errorCondition: SERVER_BUSY,
      };
    const { queue, deadLetter } = target;
    const operation = String((request.application_properties as Record<string, unknown> | undefined)?.['operation'] ?? '');
    const body = (request.body ?? {}) as Record<string, unknown>;
    switch (operation) {
      case 'com.microsoft:renew-lock': {
        // The request carries `lock-tokens` (uuids); the answer `expirations`, the new locked-until
        // time of each, in order; a lock that is gone fails the request (410, lock lost)
        // (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-amqp-request-response#message-renew-lock).
        const expirations: Date[] = [];
        for (const token of lockTokens(body['lock-tokens'])) {
          const stored = queue.locks.get(token);
          if (!stored?.lock)
            return {
              statusCode: 410,
              statusDescription: 'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
              errorCondition: LOCK_LOST,
            };
          const lock = stored.lock;
          clearTimeout(lock.timer);
          lock.lockedUntil = Date.now() + queue.settings.lockDurationMs;
          lock.timer = setTimeout(() => this.expire(queue, stored, token), queue.settings.lockDurationMs);
          expirations.push(new Date(lock.lockedUntil));
        }
        return {
          statusCode: 200,
          statusDescription: 'OK',
          body: {
            expirations: rhea.types.wrap_array(
              expirations.map((d) => d.getTime()),
              0x83,
              undefined,
            ),
          },
        };
      }
      case 'com.microsoft:update-disposition': {
        const status = String(body['disposition-status'] ?? '');
        if (status !== 'completed' && status !== 'abandoned' && status !== 'suspended')
          return { statusCode: 400, statusDescription: `Disposition '${status}' is not implemented by this stand-in.`, errorCondition: 'amqp:not-implemented' };
        for (const token of lockTokens(body['lock-tokens'])) {
          const stored = queue.locks.get(token);
          if (!stored) return { statusCode: 410, statusDescription: 'The lock supplied is invalid.', errorCondition: LOCK_LOST };
          this.applyDisposition(queue, stored, status, {
            reason: String(body['deadletter-reason'] ?? ''),
            description: String(body['deadletter-description'] ?? ''),
          });
        }
        this.pump(queue);
        return { statusCode: 200, statusDescription: 'OK' };
      }
      case 'com.microsoft:peek-message': {
        const from = toNumber(body['from-sequence-number']);
        const count = toNumber(body['message-count']);
        const source = deadLetter ? queue.deadLetters : queue.active;
        const found = [...source]
          .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
          .filter((m) => m.sequenceNumber >= from)
          .slice(0, count);
        if (found.length === 0) return { statusCode: 204, statusDescription: 'No messages' };
        return { statusCode: 200, statusDescription: 'OK', body: { messages: found.map((m) => ({ message: rhea.message.encode(this.onWire(m)) })) } };
      }
      default:
        return { statusCode: 501, statusDescription: `Operation '${operation}' is not implemented by this stand-in.`, errorCondition: 'amqp:not-implemented' };
    }
  }
}

/**
 * Answers a drain request: what credit is left is used up and a flow with drain set goes back,
 * also when the credit was used up by a transfer that crossed the request (rhea's own
 * `set_drained` answers only while credit is left, and waits for other output to be flushed).
 */
function answerDrain(sender: Sender): void {
  const link = sender as unknown as {
    _draining: boolean;
    credit: number;
    delivery_count: number;
    issue_flow: boolean;
    _get_drain: () => boolean;
    connection: { _register(): void };
  };
  link._get_drain = function (this: typeof link): boolean {
    if (!this._draining) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    this._draining = false;
    return true;
  };
  link.issue_flow = true;
  link.connection._register();
}

function outcomeOf(delivery: Delivery): 'accepted' | 'rejected' | 'released' | 'modified' {
  // rhea builds each outcome from a class that names its AMQP composite type.
  const state = delivery.remote_state as { constructor?: { composite_type?: string } } | undefined;
  const type = state?.constructor?.composite_type;
  return type === 'accepted' || type === 'rejected' || type === 'modified' ? type : 'released';
}

/** Splits a Service Bus batch transfer: its data sections each hold one encoded message. */
function unpackBatch(batch: Message): Message[] {
  const body = batch.body as { content?: unknown; multiple?: boolean } | Buffer | Buffer[] | undefined;
  const sections: unknown[] = Array.isArray(body)
    ? body
    : body && 'content' in body && Array.isArray(body.content)
      ? body.content
      : body && 'content' in body
        ? [body.content]
        : [body];
  return sections.filter((s): s is Buffer => Buffer.isBuffer(s)).map((section) => rhea.message.decode(section) as unknown as Message);
}

/** The SDK reads the delivery tag as a GUID in .NET byte order (first three groups reversed). */
function lockTokenTag(token: string): Buffer {
  return dotNetOrder(Buffer.from(token.replace(/-/g, ''), 'hex'));
}

function tokenOfTag(tag: unknown): string | undefined {
  const bytes = Buffer.isBuffer(tag) ? tag : undefined;
  if (!bytes || bytes.length !== 16) return undefined;
  return rhea.uuid_to_string(dotNetOrder(bytes));
}

function dotNetOrder(b: Buffer): Buffer {
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

/** Lock tokens in a management request: AMQP uuids, decoded by rhea as 16-byte buffers. */
function lockTokens(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((t) => (Buffer.isBuffer(t) ? rhea.uuid_to_string(t) : String(t)));
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return Number(value.readBigInt64BE(0));
  if (typeof value === 'bigint') return Number(value);
  return Number(value ?? 0);
}
