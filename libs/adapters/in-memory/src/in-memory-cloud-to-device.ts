import { err, ok, type DeliveryFeedbackStatus, type Result } from '@fieldlink/domain';
import {
  C2D_DEFAULT_TTL_MS,
  C2D_MAX_BYTES,
  C2D_MAX_PENDING_PER_DEVICE,
  type ClockPort,
  type CloudToDeviceError,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type DeviceMessageOutcome,
  type FeedbackSubscription,
  type ReceivedCloudToDeviceMessage,
} from '@fieldlink/ports';
import type { InMemoryDeviceRegistry } from './in-memory-device-registry.js';

export interface InMemoryCloudToDeviceOptions {
  /** Deliveries after which the hub gives up on a message (DeliveryCountExceeded); IoT Hub's default is 10. */
  readonly maxDeliveryCount?: number;
  /** How long a failed feedback handler waits before the same feedback is handed over again. */
  readonly feedbackRetryDelayMs?: number;
  /** How often expired messages are looked for while some are pending; 0 turns the timer off (expiry is then noticed on use). */
  readonly expiryCheckIntervalMs?: number;
}

type Receiver = (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>;

interface Pending {
  readonly message: CloudToDeviceMessage;
  readonly expiresAt: number;
  deliveryCount: number;
  inFlight: boolean;
}

interface AttachedReceiver {
  readonly id: number;
  readonly handler: Receiver;
  /** Resolves when the device detaches (disconnects), so a message it held is not waited on forever. */
  readonly detached: Promise<'detached'>;
}

interface DeviceQueue {
  readonly pending: Pending[];
  receiver: AttachedReceiver | undefined;
  pumping: boolean;
}

type FeedbackHandler = (feedback: readonly DeliveryFeedback[]) => Promise<void>;

const FEEDBACK_DESCRIPTION: Record<DeliveryFeedbackStatus, string> = {
  Success: 'Success',
  Expired: 'Message expired',
  DeliveryCountExceeded: 'Message delivery count exceeded',
  Rejected: 'Message rejected',
  Purged: 'Message purged',
};

const FEEDBACK_BATCH = 64;

/**
 * The hub's cloud-to-device side in process: a queue of at most 50 messages per device, each
 * with a time to live, delivered one at a time and in order to the device's receiver, and
 * delivery feedback (Success, Rejected, Expired, DeliveryCountExceeded) correlated by the
 * original message id. Feedback stays queued until a subscriber settles it, so none is lost.
 */
export class InMemoryCloudToDevice implements CloudToDevicePort {
  private readonly queues = new Map<string, DeviceQueue>();
  private readonly feedback: DeliveryFeedback[] = [];
  private readonly subscribers: Array<{ readonly handler: FeedbackHandler }> = [];
  private nextSubscriber = 0;
  private feedbackPumping = false;
  private feedbackRetry: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private receiverIds = 0;
  private closed = false;
  private readonly maxDeliveryCount: number;
  private readonly feedbackRetryDelayMs: number;
  private readonly expiryCheckIntervalMs: number;

  constructor(
    private readonly registry: InMemoryDeviceRegistry,
    private readonly clock: ClockPort,
    options: InMemoryCloudToDeviceOptions = {},
  ) {
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.feedbackRetryDelayMs = options.feedbackRetryDelayMs ?? 1_000;
    this.expiryCheckIntervalMs = options.expiryCheckIntervalMs ?? 1_000;
  }

  async send(message: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>> {
    if (message.body.byteLength > C2D_MAX_BYTES)
      return err({
        code: 'MessageTooLarge',
        message: `The body is ${message.body.byteLength} bytes; a cloud-to-device message holds at most ${C2D_MAX_BYTES}.`,
      });
    if (!this.registry.has(message.deviceId)) return err({ code: 'DeviceNotFound', message: `The hub has no device "${message.deviceId}".` });
    this.expireDue();
    const queue = this.queueOf(message.deviceId);
    if (queue.pending.length >= C2D_MAX_PENDING_PER_DEVICE) {
      return err({
        code: 'DeviceQueueFull',
        message: `Device "${message.deviceId}" has ${C2D_MAX_PENDING_PER_DEVICE} messages pending already; the hub takes more once it has received some.`,
      });
    }
    const copy: CloudToDeviceMessage = {
      ...message,
      body: new Uint8Array(message.body),
      ...(message.properties === undefined ? {} : { properties: { ...message.properties } }),
    };
    queue.pending.push({ message: copy, expiresAt: this.clock.now() + (message.ttlMs ?? C2D_DEFAULT_TTL_MS), deliveryCount: 0, inFlight: false });
    this.startExpiryTimer();
    void this.pump(message.deviceId);
    return ok(undefined);
  }

  async subscribeFeedback(handler: FeedbackHandler): Promise<FeedbackSubscription> {
    const subscriber = { handler };
    this.subscribers.push(subscriber);
    void this.pumpFeedback();
    return {
      close: async () => {
        const i = this.subscribers.indexOf(subscriber);
        if (i >= 0) this.subscribers.splice(i, 1);
      },
    };
  }

  /** Messages waiting for a device, in flight included. */
  pendingCount(deviceId: string): number {
    return this.queues.get(deviceId)?.pending.length ?? 0;
  }

  /** Attaches the device's receiver; returns what detaches it (a newer receiver replaces an older one). */
  attach(deviceId: string, handler: Receiver): () => void {
    const queue = this.queueOf(deviceId);
    let detach!: (value: 'detached') => void;
    const detached = new Promise<'detached'>((resolve) => (detach = resolve));
    const receiver: AttachedReceiver = { id: ++this.receiverIds, handler, detached };
    queue.receiver = receiver;
    void this.pump(deviceId);
    return () => {
      detach('detached');
      if (queue.receiver?.id === receiver.id) queue.receiver = undefined;
    };
  }

  /** Turns messages past their time to live into Expired feedback (also done on every send and delivery). */
  expireDue(): void {
    const now = this.clock.now();
    for (const [deviceId, queue] of this.queues) {
      for (let i = 0; i < queue.pending.length;) {
        const p = queue.pending[i]!;
        if (!p.inFlight && p.expiresAt <= now) {
          queue.pending.splice(i, 1);
          this.addFeedback(p.message, deviceId, 'Expired');
        } else i++;
      }
    }
    if (!this.anyPending()) this.stopExpiryTimer();
  }

  close(): void {
    this.closed = true;
    this.stopExpiryTimer();
    clearTimeout(this.feedbackRetry);
  }

  private async pump(deviceId: string): Promise<void> {
    const queue = this.queueOf(deviceId);
    if (queue.pumping) return;
    queue.pumping = true;
    try {
      while (!this.closed && queue.receiver !== undefined) {
        this.expireDue();
        const head = queue.pending[0];
        if (head === undefined) break;
        const receiver = queue.receiver;
        head.deliveryCount++;
        head.inFlight = true;
        let outcome: DeviceMessageOutcome;
        try {
          const m = head.message;
          const answer = receiver.handler({
            messageId: m.messageId,
            body: new Uint8Array(m.body),
            ...(m.correlationId === undefined ? {} : { correlationId: m.correlationId }),
            ...(m.properties === undefined ? {} : { properties: { ...m.properties } }),
          });
          const settled = await Promise.race([answer, receiver.detached]);
          // A device that went away before settling has not taken the message: it comes again.
          outcome = settled === 'detached' ? 'abandon' : settled;
        } catch {
          // A device that fails while handling a message has not taken it: the hub delivers it again.
          outcome = 'abandon';
        }
        head.inFlight = false;
        if (outcome === 'complete' || outcome === 'reject') {
          queue.pending.shift();
          this.addFeedback(head.message, deviceId, outcome === 'complete' ? 'Success' : 'Rejected');
        } else if (head.deliveryCount >= this.maxDeliveryCount) {
          queue.pending.shift();
          this.addFeedback(head.message, deviceId, 'DeliveryCountExceeded');
        }
        // Let other work run between deliveries, as a network round trip would.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      queue.pumping = false;
    }
    if (!this.anyPending()) this.stopExpiryTimer();
  }

  private addFeedback(message: CloudToDeviceMessage, deviceId: string, status: DeliveryFeedbackStatus): void {
    this.feedback.push({ originalMessageId: message.messageId, deviceId, status, description: FEEDBACK_DESCRIPTION[status], enqueuedTime: this.clock.now() });
    void this.pumpFeedback();
  }

  private async pumpFeedback(): Promise<void> {
    if (this.feedbackPumping || this.feedbackRetry !== undefined) return;
    this.feedbackPumping = true;
    try {
      while (!this.closed && this.feedback.length > 0 && this.subscribers.length > 0) {
        const subscriber = this.subscribers[this.nextSubscriber++ % this.subscribers.length]!;
        const batch = this.feedback.splice(0, FEEDBACK_BATCH);
        try {
          await subscriber.handler(batch);
        } catch {
          // Not settled: the same feedback comes again, after a pause so a failing store is not hammered.
          this.feedback.unshift(...batch);
          this.feedbackRetry = setTimeout(() => {
            this.feedbackRetry = undefined;
            void this.pumpFeedback();
          }, this.feedbackRetryDelayMs);
          this.feedbackRetry.unref();
          return;
        }
      }
    } finally {
      this.feedbackPumping = false;
    }
  }

  private queueOf(deviceId: string): DeviceQueue {
    let queue = this.queues.get(deviceId);
    if (queue === undefined) {
      queue = { pending: [], receiver: undefined, pumping: false };
      this.queues.set(deviceId, queue);
    }
    return queue;
  }

  private anyPending(): boolean {
    for (const q of this.queues.values()) if (q.pending.length > 0) return true;
    return false;
  }

  private startExpiryTimer(): void {
    if (this.expiryTimer !== undefined || this.expiryCheckIntervalMs <= 0 || this.closed) return;
    this.expiryTimer = setInterval(() => this.expireDue(), this.expiryCheckIntervalMs);
    this.expiryTimer.unref();
  }

  private stopExpiryTimer(): void {
    clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
  }
}
