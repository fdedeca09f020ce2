import { FieldlinkError } from '@fieldlink/domain';

/** A message to put on a queue. `messageId` is the key of duplicate detection. */
export interface QueueMessage {
  readonly messageId: string;
  readonly body: Uint8Array;
  readonly contentType?: string;
  readonly correlationId?: string;
  readonly subject?: string;
  readonly properties?: Readonly<Record<string, string | number | boolean>>;
}

/** A message received under a peek-lock: it stays on the queue until settled. */
export interface ReceivedQueueMessage extends QueueMessage {
  readonly lockToken: string;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly enqueuedTime: number;
  readonly sequenceNumber: number;
}

export interface DeadLetterDetails {
  /** A short code, e.g. `InvalidMessage`. */
  readonly reason: string;
  /** What exactly was wrong, for the person reading the dead-letter queue. */
  readonly description: string;
}

export interface DeadLetteredMessage extends QueueMessage, DeadLetterDetails {
  readonly deliveryCount: number;
  readonly enqueuedTime: number;
}

export interface ReceiveOptions {
  readonly maxMessages: number;
  /** How long to wait when the queue is empty before answering with nothing. */
  readonly maxWaitMs: number;
  readonly signal?: AbortSignal;
}

/**
 * A queue with Service Bus semantics (flows 6 and 13): peek-lock receive, complete, abandon
 * (redelivery), dead-letter with a reason, a maximum delivery count after which the queue
 * dead-letters by itself, and duplicate detection on the message id.
 */
export interface MessageQueuePort {
  readonly name: string;
  send(messages: readonly QueueMessage[]): Promise<void>;
  receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]>;
  complete(message: ReceivedQueueMessage): Promise<void>;
  abandon(message: ReceivedQueueMessage): Promise<void>;
  deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void>;
  renewLock(message: ReceivedQueueMessage): Promise<void>;
  peekDeadLetters(maxMessages: number): Promise<DeadLetteredMessage[]>;
  close(): Promise<void>;
}

/** Why a settlement failed; the flows treat all of them as "someone else will see it again". */
export type QueueErrorCode =
  /** The lock expired or the message was settled already: it will be (or was) delivered again. */
  | 'MessageLockLost'
  /** The queue is closed. */
  | 'QueueClosed';

export class QueueError extends FieldlinkError<QueueErrorCode> {
  constructor(code: QueueErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'QueueError';
  }
}
