import { tablesClientInterface, tablesMapClient, type PortTemplate } from './template.js';

/** `MessageQueuePort` over a table client: the queue's messages, dead letters and seen ids as rows. */
export const messageQueueTemplate: PortTemplate = {
  portInterface: 'MessageQueuePort',
  suite: 'messageQueueConformance',
  fileSuffix: 'message-queue',
  classSuffix: 'MessageQueue',
  testClient: 'a Map of tables, with a manual clock',
  summary: 'a queue with Service Bus semantics: peek-lock, dead letters, duplicate detection (`MessageQueuePort`)',
  source: (n) => `import { randomUUID } from 'node:crypto';
import { QueueError, type ClockPort, type DeadLetterDetails, type DeadLetteredMessage, type MessageQueuePort, type QueueMessage, type ReceivedQueueMessage, type ReceiveOptions } from '@fieldlink/ports';

${tablesClientInterface(n)}

export interface ${n.className}MessageQueueOptions {
  readonly name: string;
  readonly lockDurationMs: number;
  /** Deliveries after which the queue dead-letters a message by itself. */
  readonly maxDeliveryCount: number;
  /** How long a message id is remembered for duplicate detection; Service Bus's default is 10 minutes. */
  readonly duplicateDetectionWindowMs?: number;
  /** How often a receiver waiting on an empty queue looks again. */
  readonly pollMs?: number;
}

/** A message as stored: the body in base64, the lock with its token and end. */
interface Row {
  readonly message: Omit<QueueMessage, 'body'> & { readonly body: string };
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  readonly deliveryCount: number;
  readonly lock?: { readonly token: string; readonly until: number } | undefined;
}

interface DeadRow extends Row, DeadLetterDetails {}

const ACTIVE = 'active';
const DEAD = 'deadletter';
const SEEN = 'seen';
const META = 'meta';
/** Sequence numbers as keys that sort as text. */
const keyOf = (sequenceNumber: number): string => String(sequenceNumber).padStart(16, '0');

/**
 * A queue on ${n.file} with the semantics the flows rely on (Service Bus's): first in first out
 * by sequence number, peek-lock (a locked message is hidden; complete removes it; abandon or an
 * expired lock brings it back with a higher delivery count), dead letters with their reason, a
 * maximum delivery count, and duplicate detection on the message id
 * (https://learn.microsoft.com/azure/service-bus-messaging/message-transfers-locks-settlement).
 */
export class ${n.className}MessageQueue implements MessageQueuePort {
  readonly name: string;
  private closed = false;

  constructor(
    private readonly client: ${n.className}Client,
    private readonly clock: ClockPort,
    private readonly options: ${n.className}MessageQueueOptions,
  ) {
    this.name = options.name;
  }

  async send(messages: readonly QueueMessage[]): Promise<void> {
    this.open();
    const now = this.clock.now();
    for (const message of messages) {
      const seen = await this.client.get(SEEN, message.messageId);
      if (seen !== undefined && now - Number(seen) < (this.options.duplicateDetectionWindowMs ?? 600_000)) continue;
      await this.client.put(SEEN, message.messageId, String(now));
      const sequenceNumber = Number((await this.client.get(META, 'sequence')) ?? '0') + 1;
      await this.client.put(META, 'sequence', String(sequenceNumber));
      const row: Row = { message: { ...message, body: Buffer.from(message.body).toString('base64') }, sequenceNumber, enqueuedTime: now, deliveryCount: 0 };
      await this.client.put(ACTIVE, keyOf(sequenceNumber), JSON.stringify(row));
    }
  }

  async receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]> {
    for (let waited = 0; ; waited += this.pollMs) {
      this.open();
      const received = await this.lockNext(options.maxMessages);
      if (received.length > 0 || waited >= options.maxWaitMs || options.signal?.aborted === true) return received;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  async complete(message: ReceivedQueueMessage): Promise<void> {
    await this.locked(message);
    await this.client.delete(ACTIVE, keyOf(message.sequenceNumber));
  }

  async abandon(message: ReceivedQueueMessage): Promise<void> {
    const row = await this.locked(message);
    await this.release(row);
  }

  async deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void> {
    await this.moveToDeadLetter(await this.locked(message), details);
  }

  async renewLock(message: ReceivedQueueMessage): Promise<void> {
    const row = await this.locked(message);
    await this.write({ ...row, lock: { token: message.lockToken, until: this.clock.now() + this.options.lockDurationMs } });
  }

  async peekDeadLetters(maxMessages: number): Promise<DeadLetteredMessage[]> {
    return (await this.rows(DEAD)).slice(0, maxMessages).map((row) => {
      const dead = row as DeadRow;
      return { ...this.messageOf(dead), deliveryCount: dead.deliveryCount, enqueuedTime: dead.enqueuedTime, reason: dead.reason, description: dead.description };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 20;
  }

  private open(): void {
    if (this.closed) throw new QueueError('QueueClosed', \`The queue '\${this.name}' is closed.\`);
  }

  /** Locks up to \`max\` messages that no one holds; an expired lock on a message delivered the maximum times dead-letters it. */
  private async lockNext(max: number): Promise<ReceivedQueueMessage[]> {
    const now = this.clock.now();
    const received: ReceivedQueueMessage[] = [];
    for (const row of await this.rows(ACTIVE)) {
      if (received.length >= max) break;
      if (row.lock !== undefined && row.lock.until > now) continue;
      if (row.deliveryCount >= this.options.maxDeliveryCount) {
        await this.moveToDeadLetter(row, this.exhausted());
        continue;
      }
      const lock = { token: randomUUID(), until: now + this.options.lockDurationMs };
      const locked: Row = { ...row, deliveryCount: row.deliveryCount + 1, lock };
      await this.write(locked);
      received.push({ ...this.messageOf(locked), lockToken: lock.token, deliveryCount: locked.deliveryCount, enqueuedTime: locked.enqueuedTime, sequenceNumber: locked.sequenceNumber });
    }
    return received;
  }

  /** The row the message's lock still holds, or MessageLockLost. */
  private async locked(message: ReceivedQueueMessage): Promise<Row> {
    this.open();
    const text = await this.client.get(ACTIVE, keyOf(message.sequenceNumber));
    const row = text === undefined ? undefined : (JSON.parse(text) as Row);
    if (row?.lock?.token !== message.lockToken || row.lock.until <= this.clock.now()) {
      throw new QueueError('MessageLockLost', \`The lock on message '\${message.messageId}' expired or the message was settled already.\`);
    }
    return row;
  }

  private async release(row: Row): Promise<void> {
    if (row.deliveryCount >= this.options.maxDeliveryCount) await this.moveToDeadLetter(row, this.exhausted());
    else await this.write({ ...row, lock: undefined });
  }

  private exhausted(): DeadLetterDetails {
    return { reason: 'MaxDeliveryCountExceeded', description: \`Message could not be consumed after \${this.options.maxDeliveryCount} delivery attempts.\` };
  }

  private async moveToDeadLetter(row: Row, details: DeadLetterDetails): Promise<void> {
    const dead: DeadRow = { ...row, lock: undefined, ...details };
    await this.client.put(DEAD, keyOf(row.sequenceNumber), JSON.stringify(dead));
    await this.client.delete(ACTIVE, keyOf(row.sequenceNumber));
  }

  private async write(row: Row): Promise<void> {
    await this.client.put(ACTIVE, keyOf(row.sequenceNumber), JSON.stringify(row));
  }

  private async rows(table: string): Promise<Row[]> {
    return (await this.client.list(table)).sort(([a], [b]) => a.localeCompare(b)).map(([, text]) => JSON.parse(text) as Row);
  }

  private messageOf(row: Row): QueueMessage {
    return { ...row.message, body: new Uint8Array(Buffer.from(row.message.body, 'base64')) };
  }
}
`,
  test: (n) => `import { messageQueueConformance } from '@fieldlink/ports/testing';
import { ${n.className}MessageQueue, type ${n.className}Client } from './${n.file}-message-queue.js';

${tablesMapClient(n)}

messageQueueConformance('${n.className}MessageQueue', async (settings) => {
  // A manual clock: lock expiry is tested by moving it, not by waiting.
  let now = Date.parse('2026-11-28T09:00:00Z');
  const queue = new ${n.className}MessageQueue(mapClient(), { now: () => now }, { name: 'probe', ...settings });
  return {
    queue,
    advanceTime: async (ms) => {
      now += ms;
    },
    dispose: () => queue.close(),
  };
});
`,
};
