import { randomUUID } from 'node:crypto';
import {
  QueueError,
  type ClockPort,
  type DeadLetterDetails,
  type DeadLetteredMessage,
  type MessageQueuePort,
  type QueueMessage,
  type ReceiveOptions,
  type ReceivedQueueMessage,
} from '@fieldlink/ports';
import type { SqliteFile } from './sqlite-file.js';

export interface SqliteQueueOptions {
  /** Peek-lock duration; Service Bus's default is 60 s. */
  readonly lockDurationMs?: number;
  /** Deliveries after which the queue dead-letters a message itself; Service Bus's default is 10. */
  readonly maxDeliveryCount?: number;
  /** How long a message id is remembered for duplicate detection; Service Bus's default is 10 minutes. */
  readonly duplicateDetectionWindowMs?: number;
  /** How often a waiting receiver looks for messages sent by another process; 50 ms by default. */
  readonly pollIntervalMs?: number;
  readonly clock?: ClockPort;
}

const SCHEMA = `
create table if not exists queue_message (
  seq integer primary key autoincrement,
  queue text not null,
  message_id text not null,
  body blob not null,
  content_type text,
  correlation_id text,
  subject text,
  properties text,
  enqueued_time integer not null,
  delivery_count integer not null default 0,
  lock_token text,
  locked_until integer
);
create index if not exists queue_message_queue_seq on queue_message (queue, seq);
create unique index if not exists queue_message_lock on queue_message (lock_token) where lock_token is not null;
create table if not exists queue_dead_letter (
  seq integer primary key,
  queue text not null,
  message_id text not null,
  body blob not null,
  content_type text,
  correlation_id text,
  subject text,
  properties text,
  enqueued_time integer not null,
  delivery_count integer not null,
  reason text not null,
  description text not null,
  dead_lettered_time integer not null
);
create index if not exists queue_dead_letter_queue_seq on queue_dead_letter (queue, seq);
create table if not exists queue_seen_id (
  queue text not null,
  message_id text not null,
  seen_time integer not null,
  primary key (queue, message_id)
);
-- Each send forgets the ids seen before the duplicate detection window: without this index that
-- scanned every id the queue remembers (a window's worth), on every send.
create index if not exists queue_seen_id_queue_time on queue_seen_id (queue, seen_time);
`;

interface MessageRow {
  seq: number;
  message_id: string;
  body: Buffer;
  content_type: string | null;
  correlation_id: string | null;
  subject: string | null;
  properties: string | null;
  enqueued_time: number;
  delivery_count: number;
}

const systemClock: ClockPort = { now: () => Date.now() };
/** Receivers waiting in this process, per file and queue: a send here wakes them at once (another process's send is found by polling). */
const waitersByQueue = new Map<string, Set<() => void>>();

/**
 * A Service Bus queue on a SQLite file, durable across restarts and shared by the processes that
 * open the same file: peek-lock with lock expiry and redelivery, abandon, dead-letter with reason,
 * dead-letter by itself after the maximum delivery count, duplicate detection by message id within
 * a window, first-in first-out by sequence number. Every operation is one transaction (`BEGIN
 * IMMEDIATE`), so two processes never lock the same message. Several queues share a file by name.
 */
export class SqliteQueue implements MessageQueuePort {
  private readonly lockDurationMs: number;
  private readonly maxDeliveryCount: number;
  private readonly duplicateWindowMs: number;
  private readonly pollIntervalMs: number;
  private readonly clock: ClockPort;
  private readonly waiters: Set<() => void>;
  private closed = false;
  private readonly statements;

  constructor(
    private readonly db: SqliteFile,
    readonly name: string,
    options: SqliteQueueOptions = {},
  ) {
    this.lockDurationMs = options.lockDurationMs ?? 60_000;
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.duplicateWindowMs = options.duplicateDetectionWindowMs ?? 600_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.clock = options.clock ?? systemClock;
    db.exec(SCHEMA);
    const key = `${db.name}\n${name}`;
    let waiters = waitersByQueue.get(key);
    if (waiters === undefined) waitersByQueue.set(key, (waiters = new Set()));
    this.waiters = waiters;
    this.statements = {
      forgetSeen: db.prepare('delete from queue_seen_id where queue = ? and seen_time <= ?'),
      markSeen: db.prepare('insert or ignore into queue_seen_id (queue, message_id, seen_time) values (?, ?, ?)'),
      insert: db.prepare(
        'insert into queue_message (queue, message_id, body, content_type, correlation_id, subject, properties, enqueued_time) values (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      available: db.prepare('select * from queue_message where queue = ? and (lock_token is null or locked_until <= ?) order by seq limit ?'),
      lock: db.prepare('update queue_message set delivery_count = delivery_count + 1, lock_token = ?, locked_until = ? where seq = ?'),
      locked: db.prepare('select * from queue_message where queue = ? and lock_token = ? and locked_until > ?'),
      remove: db.prepare('delete from queue_message where seq = ?'),
      unlock: db.prepare('update queue_message set lock_token = null, locked_until = null where seq = ?'),
      renew: db.prepare('update queue_message set locked_until = ? where seq = ?'),
      deadLetter: db.prepare(
        'insert into queue_dead_letter (seq, queue, message_id, body, content_type, correlation_id, subject, properties, enqueued_time, delivery_count, reason, description, dead_lettered_time) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      peekDead: db.prepare('select * from queue_dead_letter where queue = ? order by seq limit ?'),
      nextExpiry: db.prepare('select min(locked_until) as until from queue_message where queue = ? and lock_token is not null'),
      count: db.prepare('select count(*) as n from queue_message where queue = ?'),
    };
  }

  async send(messages: readonly QueueMessage[]): Promise<void> {
    this.assertOpen();
    const now = this.clock.now();
    const s = this.statements;
    this.db
      .transaction(() => {
        s.forgetSeen.run(this.name, now - this.duplicateWindowMs);
        for (const m of messages) {
          if (s.markSeen.run(this.name, m.messageId, now).changes === 0) continue;
          s.insert.run(
            this.name,
            m.messageId,
            bytes(m.body),
            m.contentType ?? null,
            m.correlationId ?? null,
            m.subject ?? null,
            m.properties === undefined ? null : JSON.stringify(m.properties),
            now,
          );
        }
      })
      .immediate();
    for (const wake of [...this.waiters]) wake();
  }

  async receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]> {
    this.assertOpen();
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const got = this.take(Math.max(0, Math.floor(options.maxMessages)));
      if (got.length > 0 || options.maxWaitMs <= 0 || options.signal?.aborted) return got;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return got;
      await this.waitForChange(Math.min(remaining, this.pollIntervalMs, this.nextLockExpiryIn()), options.signal);
      if (this.closed) return [];
    }
  }

  async complete(message: ReceivedQueueMessage): Promise<void> {
    this.settle(message, (row) => this.statements.remove.run(row.seq));
  }

  async abandon(message: ReceivedQueueMessage): Promise<void> {
    this.settle(message, (row) => this.statements.unlock.run(row.seq));
    for (const wake of [...this.waiters]) wake();
  }

  async deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void> {
    this.settle(message, (row) => this.moveToDeadLetter(row, details));
  }

  async renewLock(message: ReceivedQueueMessage): Promise<void> {
    this.settle(message, (row) => this.statements.renew.run(this.clock.now() + this.lockDurationMs, row.seq));
  }

  async peekDeadLetters(maxMessages: number): Promise<DeadLetteredMessage[]> {
    const rows = this.statements.peekDead.all(this.name, Math.max(0, Math.floor(maxMessages))) as Array<MessageRow & { reason: string; description: string }>;
    return rows.map((r) => ({ ...messageOf(r), reason: r.reason, description: r.description, deliveryCount: r.delivery_count, enqueuedTime: r.enqueued_time }));
  }

  /** Stops this handle (waiting receivers answer with nothing); the messages stay in the file. The file is its opener's to close. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
  }

  /** Messages on the queue, locked or not (not the dead letters). */
  get activeCount(): number {
    return (this.statements.count.get(this.name) as { n: number }).n;
  }

  private take(max: number): ReceivedQueueMessage[] {
    if (max === 0) return [];
    const s = this.statements;
    return this.db
      .transaction(() => {
        const now = this.clock.now();
        const out: ReceivedQueueMessage[] = [];
        while (out.length < max) {
          const rows = s.available.all(this.name, now, max - out.length) as MessageRow[];
          if (rows.length === 0) break;
          for (const row of rows) {
            if (row.delivery_count >= this.maxDeliveryCount) {
              this.moveToDeadLetter(row, {
                reason: 'MaxDeliveryCountExceeded',
                description: `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
              });
              continue;
            }
            const lockToken = randomUUID();
            s.lock.run(lockToken, now + this.lockDurationMs, row.seq);
            out.push({ ...messageOf(row), lockToken, deliveryCount: row.delivery_count + 1, enqueuedTime: row.enqueued_time, sequenceNumber: row.seq });
          }
        }
        return out;
      })
      .immediate();
  }

  private settle(message: ReceivedQueueMessage, action: (row: MessageRow) => void): void {
    this.assertOpen();
    this.db
      .transaction(() => {
        const row = this.statements.locked.get(this.name, message.lockToken, this.clock.now()) as MessageRow | undefined;
        if (row === undefined)
          throw new QueueError('MessageLockLost', `The lock on message ${message.messageId} of queue ${this.name} expired or the message was already settled.`);
        action(row);
      })
      .immediate();
  }

  private moveToDeadLetter(row: MessageRow, details: DeadLetterDetails): void {
    const s = this.statements;
    s.deadLetter.run(
      row.seq,
      this.name,
      row.message_id,
      row.body,
      row.content_type,
      row.correlation_id,
      row.subject,
      row.properties,
      row.enqueued_time,
      row.delivery_count,
      details.reason,
      details.description,
      this.clock.now(),
    );
    s.remove.run(row.seq);
  }

  private nextLockExpiryIn(): number {
    const { until } = this.statements.nextExpiry.get(this.name) as { until: number | null };
    return until === null ? Number.POSITIVE_INFINITY : Math.max(1, until - this.clock.now());
  }

  private waitForChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue ${this.name} is closed.`);
  }
}

const bytes = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function messageOf(row: MessageRow): QueueMessage {
  return {
    messageId: row.message_id,
    body: new Uint8Array(row.body),
    ...(row.content_type === null ? {} : { contentType: row.content_type }),
    ...(row.correlation_id === null ? {} : { correlationId: row.correlation_id }),
    ...(row.subject === null ? {} : { subject: row.subject }),
    ...(row.properties === null ? {} : { properties: JSON.parse(row.properties) as Record<string, string | number | boolean> }),
  };
}
