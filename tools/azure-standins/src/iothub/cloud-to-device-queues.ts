import { randomUUID } from 'node:crypto';

/** What the hub reports to the service about one cloud-to-device message. */
export interface FeedbackRecord {
  readonly originalMessageId: string;
  readonly deviceId: string;
  readonly deviceGenerationId: string;
  readonly enqueuedTimeUtc: string;
  readonly statusCode: 'Success' | 'Expired' | 'DeliveryCountExceeded' | 'Rejected' | 'Purged';
  readonly description: string;
}

export interface QueuedMessage {
  readonly messageId: string;
  readonly body: Buffer;
  readonly correlationId?: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly ack: string;
  readonly expiresAt: number;
  deliveryCount: number;
  lock?: { readonly token: string; readonly timer: NodeJS.Timeout };
}

export type Deliver = (message: QueuedMessage, lockToken: string) => void;
export type Outcome = 'complete' | 'reject' | 'abandon';

export interface CloudToDeviceSettings {
  readonly maxDeliveryCount: number;
  /** How long a delivered, unsettled message stays locked before it comes back. */
  readonly lockTimeoutMs: number;
  readonly maxPendingPerDevice: number;
}

const DESCRIPTIONS: Record<FeedbackRecord['statusCode'], string> = {
  Success: 'Success',
  Expired: 'Message expired',
  DeliveryCountExceeded: 'Message delivery count exceeded',
  Rejected: 'Message rejected',
  Purged: 'Message purged',
};

/**
 * The hub's per-device cloud-to-device queues: at most 50 pending per device, delivered in order
 * one at a time under a lock, completed, rejected or abandoned by the device, redelivered after
 * an abandon or a lapsed lock up to the maximum delivery count, expired by their time to live,
 * and feedback for each final state the sender asked for (`ack`: full, positive or negative).
 */
export class CloudToDeviceQueues {
  private readonly queues = new Map<string, QueuedMessage[]>();
  private readonly consumers = new Map<string, Deliver>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly settings: CloudToDeviceSettings,
    private readonly generationOf: (deviceId: string) => string,
    private readonly onFeedback: (record: FeedbackRecord) => void,
  ) {}

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    for (const queue of this.queues.values()) for (const m of queue) if (m.lock) clearTimeout(m.lock.timer);
  }

  enqueue(deviceId: string, message: Omit<QueuedMessage, 'deliveryCount'>): 'ok' | 'full' {
    const queue = this.queues.get(deviceId) ?? [];
    this.queues.set(deviceId, queue);
    if (queue.length >= this.settings.maxPendingPerDevice) return 'full';
    queue.push({ ...message, deliveryCount: 0 });
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.pump(deviceId);
      },
      Math.max(0, message.expiresAt - Date.now()) + 5,
    );
    this.timers.add(timer);
    this.pump(deviceId);
    return 'ok';
  }

  /** A device connection that takes messages; only one per device (the newest wins). */
  attach(deviceId: string, deliver: Deliver): () => void {
    this.consumers.set(deviceId, deliver);
    this.pump(deviceId);
    return () => {
      if (this.consumers.get(deviceId) !== deliver) return;
      this.consumers.delete(deviceId);
      // The device went away: what it held unsettled comes back as a failed delivery.
      const locked = this.queues.get(deviceId)?.find((m) => m.lock);
      if (locked?.lock) this.settle(deviceId, locked.lock.token, 'abandon');
    };
  }

  settle(deviceId: string, lockToken: string, outcome: Outcome): boolean {
    const queue = this.queues.get(deviceId) ?? [];
    const message = queue.find((m) => m.lock?.token === lockToken);
    if (!message?.lock) return false;
    clearTimeout(message.lock.timer);
    delete message.lock;
    if (outcome === 'complete') this.finish(deviceId, message, 'Success');
    else if (outcome === 'reject') this.finish(deviceId, message, 'Rejected');
    else if (message.deliveryCount >= this.settings.maxDeliveryCount) this.finish(deviceId, message, 'DeliveryCountExceeded');
    setImmediate(() => this.pump(deviceId));
    return true;
  }

  pending(deviceId: string): number {
    return this.queues.get(deviceId)?.length ?? 0;
  }

  private finish(deviceId: string, message: QueuedMessage, status: FeedbackRecord['statusCode']): void {
    const queue = this.queues.get(deviceId) ?? [];
    const at = queue.indexOf(message);
    if (at >= 0) queue.splice(at, 1);
    const wanted = message.ack === 'full' || (message.ack === 'positive' && status === 'Success') || (message.ack === 'negative' && status !== 'Success');
    if (!wanted) return;
    this.onFeedback({
      originalMessageId: message.messageId,
      deviceId,
      deviceGenerationId: this.generationOf(deviceId),
      enqueuedTimeUtc: new Date().toISOString(),
      statusCode: status,
      description: DESCRIPTIONS[status],
    });
  }

  private pump(deviceId: string): void {
    const queue = this.queues.get(deviceId);
    if (!queue) return;
    const now = Date.now();
    for (const m of [...queue]) if (!m.lock && m.expiresAt <= now) this.finish(deviceId, m, 'Expired');
    const deliver = this.consumers.get(deviceId);
    const next = queue[0];
    if (!deliver || !next || next.lock) return;
    const token = randomUUID();
    next.deliveryCount += 1;
    const timer = setTimeout(() => this.settle(deviceId, token, 'abandon'), this.settings.lockTimeoutMs);
    next.lock = { token, timer };
    deliver(next, token);
  }
}
