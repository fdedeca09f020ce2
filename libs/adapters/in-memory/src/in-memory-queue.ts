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

export interface InMemoryQueueOptions {
  /** Peek-lock duration; Service Bus's default is 60 s. */
  readonly lockDurationMs?: number;
  /** Deliveries after which the queue dead-letters a message itself; Service Bus's default is 10. */
  readonly maxDeliveryCount?: number;
  /** How long a message id is remembered for duplicate detection; Service Bus's default is 10 minutes. */
  readonly duplicateDetectionWindowMs?: number;
  readonly clock?: ClockPort;
}

interface Entry {
  readonly message: QueueMessage;
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  deliveryCount: number;
  lock: { token: string; until: number } | undefined;
}

const systemClock: ClockPort = { now: () => Date.now() };

/**
 * A Service Bus queue in process, with its delivery semantics: peek-lock with lock expiry and
 * redelivery, abandon, dead-letter with reason, max delivery count then dead letter, and
 * duplicate detection by message id. Order is first-in first-out by sequence number.
 */
export class InMemoryQueue implements MessageQueuePort {
  private readonly entries: Entry[] = [];
  private readonly deadLetters: DeadLetteredMessage[] = [];
  private readonly seenIds = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private sequence = 0;
  private lockCounter = 0;
  private closed = false;
  private readonly lockDurationMs: number;
  private readonly maxDeliveryCount: number;
  private readonly duplicateWindowMs: number;
  private readonly clock: ClockPort;

  constructor(
    readonly name: string,
    options: InMemoryQueueOptions = {},
  ) {
    this.lockDurationMs = options.lockDurationMs ?? 60_000;
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.duplicateWindowMs = options.duplicateDetectionWindowMs ?? 600_000;
    this.clock = options.clock ?? systemClock;
  }

  async send(messages: readonly QueueMessage[]): Promise<void> {
    this.assertOpen();
    const now = this.clock.now();
    // Ids are kept in the order they came, so the expired ones are at the front.
    for (const [id, at] of this.seenIds) {
      if (now - at < this.duplicateWindowMs) break;
      this.seenIds.delete(id);
    }
    for (const message of messages) {
      if (this.seenIds.has(message.messageId)) continue;
      this.seenIds.set(message.messageId, now);
      this.entries.push({ message: copyMessage(message), sequenceNumber: ++this.sequence, enqueuedTime: now, deliveryCount: 0, lock: undefined });
    }
    this.wake();
  }

  async receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]> {
    this.assertOpen();
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const got = this.take(options.maxMessages);
      if (got.length > 0 || options.maxWaitMs <= 0 || options.signal?.aborted) return got;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return got;
      await this.waitForChange(Math.min(remaining, this.nextLockExpiryIn()), options.signal);
      if (this.closed) return [];
    }
  }

  async complete(message: ReceivedQueueMessage): Promise<void> {
    const index = this.lockedIndex(message);
    this.entries.splice(index, 1);
  }

  async abandon(message: ReceivedQueueMessage): Promise<void> {
    const entry = this.entries[this.lockedIndex(message)]!;
    entry.lock = undefined;
    this.wake();
  }

  async deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void> {
    const index = this.lockedIndex(message);
    const [entry] = this.entries.splice(index, 1);
    this.moveToDeadLetter(entry!, details);
  }

  async renewLock(message: ReceivedQueueMessage): Promise<void> {
    const entry = this.entries[this.lockedIndex(message)]!;
    entry.lock = { token: entry.lock!.token, until: this.clock.now() + this.lockDurationMs };
  }

  async peekDeadLetters(maxMessages: number): Promise<DeadLetteredMessage[]> {
    return this.deadLetters.slice(0, maxMessages);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }

  /** Messages on the queue, locked or not (not the dead letters). */
  get activeCount(): number {
    return this.entries.length;
  }

  private take(max: number): ReceivedQueueMessage[] {
    const now = this.clock.now();
    const out: ReceivedQueueMessage[] = [];
    for (let i = 0; i < this.entries.length && out.length < max;) {
      const entry = this.entries[i]!;
      if (entry.lock !== undefined && entry.lock.until > now) {
        i++;
        continue;
      }
      if (entry.deliveryCount >= this.maxDeliveryCount) {
        this.entries.splice(i, 1);
        this.moveToDeadLetter(entry, {
          reason: 'MaxDeliveryCountExceeded',
          description: `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
        });
        continue;
      }
      entry.deliveryCount++;
      entry.lock = { token: `lock-${++this.lockCounter}`, until: now + this.lockDurationMs };
      out.push({
        ...copyMessage(entry.message),
        lockToken: entry.lock.token,
        deliveryCount: entry.deliveryCount,
        enqueuedTime: entry.enqueuedTime,
        sequenceNumber: entry.sequenceNumber,
      });
      i++;
    }
    return out;
  }

  private lockedIndex(message: ReceivedQueueMessage): number {
    this.assertOpen();
    const index = this.entries.findIndex((e) => e.lock?.token === message.lockToken);
    const entry = this.entries[index];
    if (entry === undefined || entry.lock === undefined || entry.lock.until <= this.clock.now()) {
      throw new QueueError('MessageLockLost', `The lock on message ${message.messageId} of queue ${this.name} expired or the message was already settled.`);
    }
    return index;
  }

  private moveToDeadLetter(entry: Entry, details: DeadLetterDetails): void {
    this.deadLetters.push({ ...entry.message, ...details, deliveryCount: entry.deliveryCount, enqueuedTime: entry.enqueuedTime });
  }

  private nextLockExpiryIn(): number {
    const now = this.clock.now();
    let soonest = Number.POSITIVE_INFINITY;
    for (const e of this.entries) if (e.lock !== undefined) soonest = Math.min(soonest, e.lock.until - now);
    return Math.max(1, soonest);
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

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue ${this.name} is closed.`);
  }
}

const copyMessage = (m: QueueMessage): QueueMessage => ({ ...m, body: new Uint8Array(m.body) });
