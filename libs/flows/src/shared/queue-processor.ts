// Shared by the queue-driven flows (7–9, 13–15): receive, handle, settle, with back-off.
import { backoffDelay, type BackoffPolicy } from '@fieldlink/domain';
import type { LogPort, MessageQueuePort, ReceivedQueueMessage } from '@fieldlink/ports';
import { QueueError } from '@fieldlink/ports';
import { systemRandom } from './system-sources.js';
import { sleep, yieldToBatches } from './timers.js';
import type { Settlement } from './settlement.js';

export type MessageHandler = (message: ReceivedQueueMessage) => Promise<Settlement>;

export interface QueueProcessorOptions {
  /**
   * Messages handled at once (Service Bus's `maxConcurrentCalls`): handlers run side by side, and
   * a message held before its abandon counts until it is abandoned. 1 by default: one at a time.
   */
  readonly concurrency?: number;
  readonly maxMessages?: number;
  readonly maxWaitMs?: number;
  /** Waits between failed receives (an unreachable queue), with full jitter; reset by a receive that works. */
  readonly receiveBackoff?: BackoffPolicy;
  /**
   * How long a message whose handler failed is held (locked) before it is abandoned, by its
   * delivery count, with full jitter: so a failing message comes back after a growing pause, not
   * at once. A wait past the queue's lock duration ends with the lock: the queue delivers it again.
   */
  readonly abandonBackoff?: BackoffPolicy;
  /** In [0, 1); the system's by default. */
  readonly random?: () => number;
}

export const DEFAULT_RECEIVE_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };
export const DEFAULT_ABANDON_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 10_000 };

/**
 * Pulls messages from a queue under peek-lock and settles each as its handler decides. A handler
 * that throws has hit something transient: the message is abandoned and comes back, and the
 * queue dead-letters it once it reaches its maximum delivery count.
 */
export class QueueProcessor {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  /** Abandons waiting out their back-off: stop() ends the waits and lets them finish. */
  private readonly holding = new Set<Promise<void>>();

  constructor(
    private readonly queue: MessageQueuePort,
    private readonly handler: MessageHandler,
    private readonly log: LogPort,
    private readonly options: QueueProcessorOptions = {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.holding]);
  }

  /** Receives once and processes what came; for tests and step-by-step runs. */
  async drainOnce(): Promise<number> {
    const messages = await this.queue.receive({ maxMessages: this.options.maxMessages ?? 32, maxWaitMs: 0 });
    for (const message of messages) await this.process(message);
    return messages.length;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const random = this.options.random ?? systemRandom;
    const concurrency = Math.max(1, Math.floor(this.options.concurrency ?? 1));
    /** Messages being handled now; with `holding`, what this processor has locked. */
    const handling = new Set<Promise<void>>();
    const stopped = aborted(signal);
    let failures = 0;
    while (!signal.aborted) {
      const room = concurrency - handling.size - this.holding.size;
      if (room <= 0) {
        // Full: no receive until a message is settled (a receive without room would come back empty at once, and spin).
        await Promise.race([...handling, ...this.holding, stopped]);
        continue;
      }
      let messages: ReceivedQueueMessage[];
      try {
        messages = await this.queue.receive({ maxMessages: Math.min(room, this.options.maxMessages ?? 32), maxWaitMs: this.options.maxWaitMs ?? 1000, signal });
        failures = 0;
      } catch (e) {
        if (signal.aborted) break;
        const waitMs = backoffDelay(this.options.receiveBackoff ?? DEFAULT_RECEIVE_BACKOFF, failures++, random);
        this.log.error('queue.receive-failed', { queue: this.queue.name, attempt: failures, retryInMs: waitMs, error: (e as Error).message });
        await sleep(waitMs, signal);
        continue;
      }
      for (const message of messages) {
        const handled: Promise<void> = this.handleOne(message, signal, random).finally(() => handling.delete(handled));
        handling.add(handled);
      }
      // An adapter that answers at once with nothing (no room of its own) must not starve timers and I/O.
      if (messages.length === 0) await yieldToBatches();
    }
    await Promise.all([...handling]);
  }

  /** Handles one message and settles it; an abandon is held for its back-off first, the loop going on meanwhile. */
  private async handleOne(message: ReceivedQueueMessage, signal: AbortSignal, random: () => number): Promise<void> {
    const settlement = await this.decide(message);
    if (settlement.kind !== 'abandon') return this.settle(message, settlement);
    const waitMs = backoffDelay(this.options.abandonBackoff ?? DEFAULT_ABANDON_BACKOFF, message.deliveryCount - 1, random);
    const held: Promise<void> = sleep(waitMs, signal)
      .then(() => this.settle(message, settlement, waitMs))
      .catch((e: unknown) => this.log.error('queue.settle-failed', { queue: this.queue.name, messageId: message.messageId, error: (e as Error).message }))
      .finally(() => this.holding.delete(held));
    this.holding.add(held);
  }

  /** Handles one message and settles it at once (no back-off before an abandon). */
  async process(message: ReceivedQueueMessage): Promise<void> {
    await this.settle(message, await this.decide(message));
  }

  private async decide(message: ReceivedQueueMessage): Promise<Settlement> {
    try {
      return await this.handler(message);
    } catch (e) {
      return { kind: 'abandon', error: (e as Error).message };
    }
  }

  private async settle(message: ReceivedQueueMessage, settlement: Settlement, heldMs?: number): Promise<void> {
    try {
      if (settlement.kind === 'complete') await this.queue.complete(message);
      else if (settlement.kind === 'abandon') {
        this.log.warn('queue.message-abandoned', {
          queue: this.queue.name,
          messageId: message.messageId,
          deliveryCount: message.deliveryCount,
          heldMs,
          error: settlement.error,
        });
        await this.queue.abandon(message);
      } else {
        this.log.warn('queue.message-dead-lettered', {
          queue: this.queue.name,
          messageId: message.messageId,
          reason: settlement.reason,
          description: settlement.description,
        });
        await this.queue.deadLetter(message, { reason: settlement.reason, description: settlement.description });
      }
    } catch (e) {
      // A lost lock, or a connection lost under the settlement: the queue delivers the message
      // again once its lock lapses, and the flows are idempotent. Never a reason to stop the loop.
      if (e instanceof QueueError) this.log.warn('queue.settle-failed', { queue: this.queue.name, messageId: message.messageId, code: e.code });
      else this.log.warn('queue.settle-failed', { queue: this.queue.name, messageId: message.messageId, error: (e as Error).message });
    }
  }
}

/** Resolves when the signal aborts (at once when it has). */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
