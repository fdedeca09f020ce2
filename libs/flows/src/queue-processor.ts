import type { LogPort, MessageQueuePort, ReceivedQueueMessage } from '@fieldlink/ports';
import { QueueError } from '@fieldlink/ports';
import type { Settlement } from './settlement.js';

export type MessageHandler = (message: ReceivedQueueMessage) => Promise<Settlement>;

export interface QueueProcessorOptions {
  readonly maxMessages?: number;
  readonly maxWaitMs?: number;
}

/**
 * Pulls messages from a queue under peek-lock and settles each as its handler decides. A handler
 * that throws has hit something transient: the message is abandoned and comes back, and the
 * queue dead-letters it once it reaches its maximum delivery count.
 */
export class QueueProcessor {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

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
  }

  /** Receives once and processes what came; for tests and step-by-step runs. */
  async drainOnce(): Promise<number> {
    const messages = await this.queue.receive({ maxMessages: this.options.maxMessages ?? 32, maxWaitMs: 0 });
    for (const message of messages) await this.process(message);
    return messages.length;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let messages: ReceivedQueueMessage[];
      try {
        messages = await this.queue.receive({ maxMessages: this.options.maxMessages ?? 32, maxWaitMs: this.options.maxWaitMs ?? 1000, signal });
      } catch (e) {
        if (signal.aborted) break;
        this.log.error('queue.receive-failed', { queue: this.queue.name, error: (e as Error).message });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const message of messages) await this.process(message);
    }
  }

  async process(message: ReceivedQueueMessage): Promise<void> {
    let settlement: Settlement;
    try {
      settlement = await this.handler(message);
    } catch (e) {
      settlement = { kind: 'abandon', error: (e as Error).message };
    }
    try {
      if (settlement.kind === 'complete') await this.queue.complete(message);
      else if (settlement.kind === 'abandon') {
        this.log.warn('queue.message-abandoned', { queue: this.queue.name, messageId: message.messageId, deliveryCount: message.deliveryCount, error: settlement.error });
        await this.queue.abandon(message);
      } else {
        this.log.warn('queue.message-dead-lettered', { queue: this.queue.name, messageId: message.messageId, reason: settlement.reason, description: settlement.description });
        await this.queue.deadLetter(message, { reason: settlement.reason, description: settlement.description });
      }
    } catch (e) {
      // A lost lock means the queue will deliver the message again; the flows are idempotent.
      if (e instanceof QueueError) this.log.warn('queue.settle-failed', { queue: this.queue.name, messageId: message.messageId, code: e.code });
      else throw e;
    }
  }
}
