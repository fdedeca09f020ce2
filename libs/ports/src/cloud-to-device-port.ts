import type { CodedError, DeliveryFeedbackStatus, Result } from '@fieldlink/domain';

/** IoT Hub limits that shape the sender. */
export const C2D_MAX_BYTES = 64 * 1024;
export const C2D_MAX_PENDING_PER_DEVICE = 50;
export const C2D_DEFAULT_TTL_MS = 60 * 60 * 1000;

/** A cloud-to-device message (flows 16–19): the body is the command's `msdyn_message` as UTF-8. */
export interface CloudToDeviceMessage {
  readonly messageId: string;
  readonly deviceId: string;
  readonly body: Uint8Array;
  readonly correlationId?: string;
  /** Time to live; the hub's default is one hour. */
  readonly ttlMs?: number;
  readonly properties?: Readonly<Record<string, string>>;
}

/** The hub's delivery feedback for one message, correlated by the original message id. */
export interface DeliveryFeedback {
  readonly originalMessageId: string;
  readonly deviceId: string;
  readonly status: DeliveryFeedbackStatus;
  readonly description?: string;
  /** Epoch ms. */
  readonly enqueuedTime: number;
}

export type CloudToDeviceErrorCode =
  /** The device has 50 messages pending already. */
  | 'DeviceQueueFull'
  | 'DeviceNotFound'
  | 'MessageTooLarge'
  /** 429 or unavailable: try again later. */
  | 'Throttled';

export type CloudToDeviceError = CodedError<CloudToDeviceErrorCode>;

export interface FeedbackSubscription {
  close(): Promise<void>;
}

/**
 * The service side of cloud-to-device messaging: send with full acknowledgement requested, and
 * receive delivery feedback. Delivery is at least once; feedback may come in batches.
 */
export interface CloudToDevicePort {
  send(message: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>>;
  /** When the handler resolves, the feedback is settled; when it rejects, it comes again. */
  subscribeFeedback(handler: (feedback: readonly DeliveryFeedback[]) => Promise<void>): Promise<FeedbackSubscription>;
}
