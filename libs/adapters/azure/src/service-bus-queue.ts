import {
  ServiceBusClient,
  isServiceBusError,
  type ServiceBusMessage,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSender,
} from '@azure/service-bus';
import Long from 'long';
import {
  QueueError,
  silentLog,
  type LogPort,
  type DeadLetterDetails,
  type DeadLetteredMessage,
  type MessageQueuePort,
  type QueueMessage,
  type ReceiveOptions,
  type ReceivedQueueMessage,
} from '@fieldlink/ports';
import { AzureAdapterError, scrubbed, scrubbedCause, secretsOf, type AzureAuth } from './azure-auth.js';
import { sdkRetryOptions, type SdkRetry } from './retry-policy.js';

export interface ServiceBusQueueOptions {
  readonly auth: AzureAuth;
  /** The queue name, e.g. a CFS deployment's `<prefix>-iot` (alerts) or `<prefix>-crm` (outbound). */
  readonly queueName: string;
  /**
   * How many messages this adapter holds locked at once: `receive` hands out no more than
   * the difference, so a slow consumer does not sit on locks it cannot work on.
   */
  readonly concurrency?: number;
  /** The SDK's retries of failed operations (it retries even refused credentials): exponential from 0.5 s up to 30 s, 6 retries by default (see `sdkRetryOptions`). */
  readonly retry?: SdkRetry;
  /** Where a lost lock on settlement is told (`service-bus.lock-lost`, as info: it is expected after a dropped connection). */
  readonly log?: LogPort;
  /**
   * How long the lock of a message handed out and not yet settled is renewed for its holder (the
   * SDK's `maxAutoLockRenewalDurationInMs`, counted from the receive): a handler that outlasts the
   * queue's lock duration (a CRM backing off) keeps its message instead of having it delivered
   * again meanwhile. Past this the lock lapses as the queue's lock duration says, so a holder that
   * stalls gives its messages back. 0 turns renewal off (`renewLock` still works).
   * `DEFAULT_MAX_AUTO_LOCK_RENEWAL_MS` (5 min, the SDK's own default) by default.
   */
  readonly maxAutoLockRenewalMs?: number;
}

/** Locks of messages in hand are renewed for up to 5 minutes after the receive (the SDK's default). */
export const DEFAULT_MAX_AUTO_LOCK_RENEWAL_MS = 300_000;

/** What a queue adapter has seen since it was made. */
export interface ServiceBusQueueStats {
  /** Settlements refused because the lock was gone (expired, or settled already): each such message is delivered again. */
  readonly lockLost: number;
  /** Receivers dropped and made again after a receive or peek failed. */
  readonly receiversRenewed: number;
}

/**
 * MessageQueuePort on an Azure Service Bus queue: batched sends with message ids (duplicate
 * detection), peek-lock receive, complete/abandon/dead-letter with reason, lock renewal (on
 * request, and automatic while a message is in hand, see `maxAutoLockRenewalMs`), and a peek at
 * the dead-letter subqueue.
 */
export class ServiceBusQueue implements MessageQueuePort {
  readonly name: string;
  private readonly client: ServiceBusClient;
  private readonly secrets: string[];
  private readonly concurrency: number;
  private readonly maxAutoLockRenewalMs: number;
  private sender: ServiceBusSender | undefined;
  private receiver: ServiceBusReceiver | undefined;
  private deadLetterReceiver: ServiceBusReceiver | undefined;
  /** Messages handed out and not settled, by lock token. */
  private readonly locked = new Map<string, ServiceBusReceivedMessage>();
  private closed = false;
  private readonly log: LogPort;
  private counts = { lockLost: 0, receiversRenewed: 0 };

  constructor(options: ServiceBusQueueOptions) {
    this.name = options.queueName;
    this.concurrency = options.concurrency ?? 32;
    this.maxAutoLockRenewalMs = Math.max(0, options.maxAutoLockRenewalMs ?? DEFAULT_MAX_AUTO_LOCK_RENEWAL_MS);
    this.log = options.log ?? silentLog;
    const auth = options.auth;
    this.secrets = 'connectionString' in auth ? secretsOf(auth.connectionString) : [];
    try {
      const clientOptions = { retryOptions: sdkRetryOptions(options.retry) };
      this.client =
        'connectionString' in auth
          ? new ServiceBusClient(auth.connectionString, clientOptions)
          : new ServiceBusClient(auth.fullyQualifiedNamespace, auth.credential, clientOptions);
    } catch (error) {
      throw scrubbed(`Service Bus connection for queue '${this.name}' is misconfigured`, error, this.secrets, 'Misconfigured');
    }
  }

  async send(messages: readonly QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const sender = (this.sender ??= this.client.createSender(this.name));
    try {
      let batch = await sender.createMessageBatch();
      for (const message of messages) {
        const wire = toServiceBusMessage(message);
        if (batch.tryAddMessage(wire)) continue;
        if (batch.count === 0) throw tooLarge(message, batch.maxSizeInBytes);
        await sender.sendMessages(batch);
        batch = await sender.createMessageBatch();
        if (!batch.tryAddMessage(wire)) throw tooLarge(message, batch.maxSizeInBytes);
      }
      if (batch.count > 0) await sender.sendMessages(batch);
    } catch (error) {
      if (error instanceof AzureAdapterError) throw error;
      throw scrubbed(`Sending ${messages.length} message(s) to queue '${this.name}' failed`, error, this.secrets);
    }
  }

  async receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]> {
    this.assertOpen();
    const room = Math.min(options.maxMessages, this.concurrency - this.locked.size);
    if (room <= 0) return [];
    const receiver = this.currentReceiver();
    const call = signalForOneCall(options.signal);
    let got: ServiceBusReceivedMessage[];
    try {
      got = await receiver.receiveMessages(room, { maxWaitTimeInMs: options.maxWaitMs, ...(call ? { abortSignal: call.signal } : {}) });
    } catch (error) {
      if (options.signal?.aborted) return [];
      // The SDK retried already: the next receive starts from a new receiver (and link). Messages
      // this one handed out are still settled, through the queue's $management node by lock token.
      this.renewReceiver('receiver');
      throw scrubbed(`Receiving from queue '${this.name}' failed`, error, this.secrets);
    } finally {
      call?.release();
    }
    return got.map((m) => {
      const lockToken = m.lockToken ?? '';
      this.locked.set(lockToken, m);
      return {
        ...fromServiceBusMessage(m),
        lockToken,
        deliveryCount: m.deliveryCount! + 1,
        enqueuedTime: m.enqueuedTimeUtc?.getTime() ?? 0,
        sequenceNumber: Number(m.sequenceNumber ?? 0),
      };
    });
  }

  complete(message: ReceivedQueueMessage): Promise<void> {
    return this.settle(message, 'complete', (r, m) => r.completeMessage(m));
  }

  abandon(message: ReceivedQueueMessage): Promise<void> {
    return this.settle(message, 'abandon', (r, m) => r.abandonMessage(m));
  }

  deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void> {
    return this.settle(message, 'dead-letter', (r, m) =>
      r.deadLetterMessage(m, { deadLetterReason: details.reason, deadLetterErrorDescription: details.description }),
    );
  }

  async renewLock(message: ReceivedQueueMessage): Promise<void> {
    const { receiver, received } = this.lockedMessage(message, 'renew the lock of');
    try {
      await receiver.renewMessageLock(received);
    } catch (error) {
      throw this.settlementError('renew the lock of', message, error);
    }
  }

  async peekDeadLetters(maxMessages: number): Promise<DeadLetteredMessage[]> {
    this.assertOpen();
    const receiver = (this.deadLetterReceiver ??= this.client.createReceiver(this.name, {
      subQueueType: 'deadLetter',
      skipParsingBodyAsJson: true,
      skipConvertingDate: true,
    }));
    try {
      const peeked = await receiver.peekMessages(maxMessages, { fromSequenceNumber: Long.fromNumber(0) });
      return peeked.map((m) => ({
        ...fromServiceBusMessage(m),
        reason: m.deadLetterReason ?? '',
        description: m.deadLetterErrorDescription ?? '',
        // Peeking is not a delivery: the count is of the deliveries the message had.
        deliveryCount: m.deliveryCount ?? 0,
        enqueuedTime: m.enqueuedTimeUtc?.getTime() ?? 0,
      }));
    } catch (error) {
      this.renewReceiver('deadLetterReceiver');
      throw scrubbed(`Peeking the dead letters of queue '${this.name}' failed`, error, this.secrets);
    }
  }

  /** Lost locks on settlement and receivers made again, since this adapter was made. */
  stats(): ServiceBusQueueStats {
    return { ...this.counts };
  }

  private renewReceiver(which: 'receiver' | 'deadLetterReceiver'): void {
    const receiver = this[which];
    if (receiver === undefined) return;
    this[which] = undefined;
    this.counts.receiversRenewed += 1;
    void receiver.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.locked.clear();
    await Promise.allSettled([this.sender?.close(), this.receiver?.close(), this.deadLetterReceiver?.close()]);
    await this.client.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue '${this.name}' is closed.`);
  }

  /**
   * The peek-lock receiver, made on first use and again after a failed receive. The SDK renews the
   * lock of each message it received, through the queue's $management node
   * (`com.microsoft:renew-lock`), until the message is settled or `maxAutoLockRenewalMs` has
   * passed; a receiver made again after a failure stops renewing what the one before received.
   */
  private currentReceiver(): ServiceBusReceiver {
    return (this.receiver ??= this.client.createReceiver(this.name, {
      receiveMode: 'peekLock',
      maxAutoLockRenewalDurationInMs: this.maxAutoLockRenewalMs,
      skipParsingBodyAsJson: true,
      skipConvertingDate: true,
    }));
  }

  /**
   * A message handed out and not settled, with the receiver to settle it through: the current
   * one, which settles on the link the message came on while that link is open and through the
   * queue's $management node by lock token after it dropped (what the SDK does by itself).
   */
  private lockedMessage(message: ReceivedQueueMessage, what: string): { receiver: ServiceBusReceiver; received: ServiceBusReceivedMessage } {
    this.assertOpen();
    const received = this.locked.get(message.lockToken);
    if (received) return { receiver: this.currentReceiver(), received };
    throw new QueueError(
      'MessageLockLost',
      `Cannot ${what} message '${message.messageId}' on queue '${this.name}': it was settled already or not received here.`,
    );
  }

  private async settle(
    message: ReceivedQueueMessage,
    what: string,
    run: (receiver: ServiceBusReceiver, received: ServiceBusReceivedMessage) => Promise<void>,
  ): Promise<void> {
    const { receiver, received } = this.lockedMessage(message, what);
    try {
      await run(receiver, received);
    } catch (error) {
      throw this.settlementError(what, message, error);
    } finally {
      this.locked.delete(message.lockToken);
    }
  }

  /**
   * A settlement the queue refused for a lost lock, or that the SDK could not confirm before its
   * retries ran out (a disposition sent on a connection that dropped times out, and its retry by
   * lock token finds the lock gone), is `MessageLockLost`: either way the message is, or will be,
   * delivered again, and the flows take it again idempotently. It is counted and told as info,
   * not as an error. The SDK reports retried failures as an AggregateError of every attempt's
   * error; the last one tells how it ended.
   */
  private settlementError(what: string, message: ReceivedQueueMessage, error: unknown): Error {
    const attempts = error instanceof AggregateError && error.errors.length > 0 ? error.errors : [error];
    const last = attempts[attempts.length - 1];
    const lost =
      (isServiceBusError(last) && (last.code === 'MessageLockLost' || last.code === 'MessageNotFound' || last.code === 'ServiceTimeout')) ||
      (last instanceof Error && /already been settled|lock.*(expired|invalid|lost)/i.test(last.message));
    if (!lost) return scrubbed(`Cannot ${what} message '${message.messageId}' on queue '${this.name}'`, last, this.secrets);
    this.counts.lockLost += 1;
    const code = isServiceBusError(last) ? last.code : 'MessageLockLost';
    this.log.info('service-bus.lock-lost', { queue: this.name, messageId: message.messageId, operation: what, deliveryCount: message.deliveryCount, code });
    const why =
      code === 'ServiceTimeout'
        ? 'the settlement was not confirmed in time (the connection dropped) and its lock is gone'
        : 'its lock was lost (expired or settled)';
    return new QueueError('MessageLockLost', `Cannot ${what} message '${message.messageId}' on queue '${this.name}': ${why}; it will be delivered again.`, {
      cause: scrubbedCause(last, this.secrets),
    });
  }
}

/**
 * A signal for one SDK call, aborted when the caller's aborts, and `release` to stop listening to
 * the caller's. The SDK (7.9.5) leaves an abort listener on the signal it is given after every
 * receive that ends by draining the link's credit (an empty or short receive: `tryDrainReceiver`
 * removes its listener on a timeout or an abort, not when the drain completes). A queue
 * processor's signal lives as long as the processor and goes with every receive, so it gathered
 * one listener per receive (`MaxListenersExceededWarning`, and every receiver closure kept); the
 * SDK's leftovers now stay on this signal, which is dropped with the call.
 */
function signalForOneCall(signal: AbortSignal | undefined): { readonly signal: AbortSignal; release(): void } | undefined {
  if (signal === undefined) return undefined;
  const controller = new AbortController();
  const abort = (): void => controller.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  return { signal: controller.signal, release: () => signal.removeEventListener('abort', abort) };
}

/** The port's message as Service Bus sends it: content type and application properties carried as they are. */
export function toServiceBusMessage(message: QueueMessage): ServiceBusMessage {
  return {
    messageId: message.messageId,
    body: Buffer.from(message.body),
    ...(message.contentType !== undefined ? { contentType: message.contentType } : {}),
    ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
    ...(message.subject !== undefined ? { subject: message.subject } : {}),
    ...(message.properties !== undefined ? { applicationProperties: { ...message.properties } } : {}),
  };
}

/** Service Bus adds its own application properties to dead letters; those are not the sender's. */
const SERVICE_PROPERTIES = new Set(['DeadLetterReason', 'DeadLetterErrorDescription']);

/**
 * A received Service Bus message as the port's. Application properties keep their strings,
 * numbers and booleans, and a .NET sender's DateTime (AMQP timestamp) becomes ISO text.
 */
export function fromServiceBusMessage(
  m: Pick<ServiceBusReceivedMessage, 'body' | 'applicationProperties' | 'messageId' | 'contentType' | 'correlationId' | 'subject'>,
): QueueMessage {
  const body = m.body as unknown;
  const bytes = body instanceof Uint8Array ? new Uint8Array(body) : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  const properties: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(m.applicationProperties ?? {})) {
    if (SERVICE_PROPERTIES.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') properties[key] = value;
    else if (value instanceof Date && Number.isFinite(value.getTime())) properties[key] = value.toISOString();
  }
  return {
    messageId: String(m.messageId ?? ''),
    body: bytes,
    ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
    ...(m.correlationId !== undefined ? { correlationId: String(m.correlationId) } : {}),
    ...(m.subject !== undefined ? { subject: m.subject } : {}),
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
  };
}

const tooLarge = (message: QueueMessage, maxBytes: number): AzureAdapterError =>
  new AzureAdapterError('MessageTooLarge', `message '${message.messageId}' is larger than the queue accepts (${maxBytes} bytes)`);
