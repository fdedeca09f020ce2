// CommonJS packages whose exports Node's ESM loader cannot list: values come through the default import.
import iothub, { type Client } from 'azure-iothub';
// The SDK's own AMQP base, to open it with manual settlement (the package has no exports map).
import { Amqp as AmqpBase } from 'azure-iothub/dist/common-amqp/amqp.js';
import iotCommon, { type Message } from 'azure-iot-common';

const { Amqp: ServiceAmqp } = iothub;
import { backoffDelay, type DeliveryFeedbackStatus, type Result } from '@fieldlink/domain';
import {
  C2D_DEFAULT_TTL_MS,
  C2D_MAX_BYTES,
  silentLog,
  type CloudToDeviceError,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type FeedbackSubscription,
  type LogPort,
} from '@fieldlink/ports';
import { redact, scrubbedCause, sdkCodeOf, secretsOf, AzureAdapterError, type AzureAdapterErrorCode } from './azure-auth.js';
import { guardIotHubErrorNames } from './iot-hub-error-names.js';
import type { IotHubAuth } from './iot-hub-registry.js';
import { RECONNECT_BACKOFF } from './retry-policy.js';

export interface IotHubCloudToDeviceOptions {
  readonly auth: IotHubAuth;
  readonly log?: LogPort;
  /** In [0, 1): draws the jitter of the waits before a lost feedback receiver is attached again (Math.random by default). */
  readonly random?: () => number;
}

interface FeedbackRecordJson {
  readonly originalMessageId: string;
  readonly deviceId: string;
  readonly enqueuedTimeUtc: string;
  readonly statusCode: string;
  readonly description?: string;
}

const STATUSES = new Set<DeliveryFeedbackStatus>(['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged']);

/**
 * The SDK's service transport accepts every feedback message as it arrives, so feedback a
 * handler failed on would be lost; this one leaves settling to the adapter.
 */
class ExplicitlySettledAmqp extends ServiceAmqp {
  constructor(config: ConstructorParameters<typeof ServiceAmqp>[0]) {
    super(config, new AmqpBase(false));
  }
}

/** Feedback receivers of the SDK: they emit messages and are settled through themselves. */
interface FeedbackReceiver {
  on(event: 'message', listener: (message: Message) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  removeListener(event: 'message', listener: (message: Message) => void): void;
  removeListener(event: 'error', listener: (error: Error) => void): void;
  complete(message: Message, done?: (error?: Error) => void): void;
  abandon(message: Message, done?: (error?: Error) => void): void;
}

/**
 * CloudToDevicePort with azure-iothub's Client over AMQP: every message asks for full
 * acknowledgement (`ack: 'full'`), and the hub's feedback (`/messages/serviceBound/feedback`) is
 * read as DeliveryFeedback, completed once the handler resolved and abandoned (given back) when
 * it failed.
 */
export class IotHubCloudToDevice implements CloudToDevicePort {
  private readonly client: Client;
  private readonly secrets: string[];
  private readonly log: LogPort;
  private readonly random: () => number;
  private opened: Promise<void> | undefined;

  constructor(options: IotHubCloudToDeviceOptions) {
    // The SDK's links would otherwise end the process on an error that is its own cause (see there).
    guardIotHubErrorNames();
    const auth = options.auth;
    this.secrets = 'connectionString' in auth ? secretsOf(auth.connectionString) : [];
    this.log = options.log ?? silentLog;
    this.random = options.random ?? Math.random;
    try {
      this.client =
        'connectionString' in auth
          ? iothub.Client.fromConnectionString(auth.connectionString, ExplicitlySettledAmqp)
          : iothub.Client.fromTokenCredential(auth.hostName, auth.credential, ExplicitlySettledAmqp);
    } catch (error) {
      throw this.error('The IoT hub service connection is misconfigured', error, 'Misconfigured');
    }
  }

  async send(message: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>> {
    if (message.body.byteLength > C2D_MAX_BYTES) {
      return fail('MessageTooLarge', `Message '${message.messageId}' has ${message.body.byteLength} bytes; the hub takes at most ${C2D_MAX_BYTES}.`);
    }
    const wire = new iotCommon.Message(Buffer.from(message.body));
    wire.messageId = message.messageId;
    wire.ack = 'full';
    if (message.correlationId !== undefined) wire.correlationId = message.correlationId;
    // Epoch ms, not a Date: the SDK's AMQP encoder (rhea 1) cannot write a Date as a timestamp.
    wire.expiryTimeUtc = Date.now() + (message.ttlMs ?? C2D_DEFAULT_TTL_MS);
    for (const [key, value] of Object.entries(message.properties ?? {})) wire.properties.add(key, value);
    try {
      await this.open();
      await this.client.send(message.deviceId, wire);
      return { ok: true, value: undefined };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const text = this.text(error);
      if (name === 'DeviceNotFoundError') return fail('DeviceNotFound', `Device '${message.deviceId}' is not registered in the hub: ${text}`);
      if (name === 'DeviceMaximumQueueDepthExceededError')
        return fail('DeviceQueueFull', `Device '${message.deviceId}' has the maximum of pending messages: ${text}`);
      if (name === 'MessageTooLargeError') return fail('MessageTooLarge', `Message '${message.messageId}' is too large for the hub: ${text}`);
      if (name === 'ThrottlingError' || name === 'ServiceUnavailableError' || name === 'IotHubQuotaExceededError')
        return fail('Throttled', `The hub asks to slow down: ${text}`);
      throw this.error(`Sending message '${message.messageId}' to device '${message.deviceId}' failed`, error);
    }
  }

  /**
   * Reads the hub's feedback until closed. The SDK attaches the feedback receiver once and, when
   * the connection drops or the link fails, only detaches it: the hub then keeps the feedback
   * (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-c2d#message-feedback)
   * and nobody reads it. So a lost receiver is attached again, with full jitter: the n-th wait
   * drawn from [0, min(10 s, 1 s * 2^n)] (`RECONNECT_BACKOFF`), so services that lost the hub
   * together do not come back together.
   */
  async subscribeFeedback(handler: (feedback: readonly DeliveryFeedback[]) => Promise<void>): Promise<FeedbackSubscription> {
    const listenerFor =
      (receiver: FeedbackReceiver) =>
      (message: Message): void => {
        // Settled with a callback: without one the SDK returns a promise, and one rejected (the lock
        // lost with a dropped connection) would end the process. A settlement that failed is told:
        // the hub delivers the feedback again once the lock lapses, and its handling is idempotent.
        const settle = (how: 'complete' | 'abandon'): void =>
          receiver[how](message, (error) => {
            if (error) this.log.warn('cloud-to-device.feedback-settle-failed', { operation: how, error: `${error.name}: ${this.text(error)}` });
          });
        void (async () => {
          let feedback: DeliveryFeedback[];
          try {
            feedback = parseFeedback(message.getBytes().toString('utf8'));
          } catch (error) {
            // Feedback the hub sent and we cannot read is kept in the log, and settled: it would never read.
            this.log.error('cloud-to-device.feedback-unreadable', { error: error instanceof Error ? error.message : String(error) });
            settle('complete');
            return;
          }
          try {
            await handler(feedback);
            settle('complete');
          } catch (error) {
            this.log.warn('cloud-to-device.feedback-handler-failed', { error: error instanceof Error ? error.message : String(error) });
            settle('abandon');
          }
        })();
      };
    let current: { receiver: FeedbackReceiver; listener: (message: Message) => void } | undefined;
    let closed = false;
    let reattaching = false;
    let timer: NodeJS.Timeout | undefined;
    const detach = (): void => {
      if (!current) return;
      current.receiver.removeListener('message', current.listener);
      current.receiver.removeListener('error', lost);
      current = undefined;
    };
    const attach = async (): Promise<void> => {
      const receiver = (await this.client.getFeedbackReceiver()).result as unknown as FeedbackReceiver;
      if (current?.receiver === receiver) return;
      detach();
      const listener = listenerFor(receiver);
      receiver.on('message', listener);
      receiver.on('error', lost);
      current = { receiver, listener };
    };
    const lost = (): void => {
      if (closed || reattaching) return;
      reattaching = true;
      detach();
      const again = (attempt: number): void => {
        const delayMs = backoffDelay(RECONNECT_BACKOFF, attempt, this.random);
        timer = setTimeout(() => {
          if (closed) return;
          attach().then(
            () => {
              reattaching = false;
              this.log.info('cloud-to-device.feedback-reattached', {});
            },
            (error: unknown) => {
              this.log.warn('cloud-to-device.feedback-reattach-failed', {
                attempt: attempt + 1,
                error: `${error instanceof Error ? error.name : 'Error'}: ${this.text(error)}`,
              });
              again(attempt + 1);
            },
          );
        }, delayMs);
      };
      again(0);
    };
    try {
      await this.open();
      await attach();
    } catch (error) {
      throw this.error('Opening the feedback receiver failed', error);
    }
    this.client.on('disconnect', lost);
    return {
      close: async () => {
        closed = true;
        clearTimeout(timer);
        this.client.removeListener('disconnect', lost);
        detach();
      },
    };
  }

  async close(): Promise<void> {
    if (this.opened) await this.client.close().catch(() => undefined);
    this.opened = undefined;
  }

  private open(): Promise<void> {
    this.opened ??= this.client.open().then(
      () => undefined,
      (error: unknown) => {
        this.opened = undefined;
        throw error;
      },
    );
    return this.opened;
  }

  private text(error: unknown): string {
    return redact(error instanceof Error ? error.message : String(error), this.secrets);
  }

  private error(what: string, error: unknown, code: AzureAdapterErrorCode = 'RequestFailed'): AzureAdapterError {
    const name = error instanceof Error ? error.name : 'Error';
    const sdkCode = sdkCodeOf(error);
    return new AzureAdapterError(code, `${what}: ${name}: ${this.text(error)}`, {
      cause: scrubbedCause(error, this.secrets),
      ...(sdkCode === undefined ? {} : { sdkCode }),
    });
  }
}

function fail(code: CloudToDeviceError['code'], message: string): Result<void, CloudToDeviceError> {
  return { ok: false, error: { code, message } };
}

/** The hub's feedback body: a JSON array of records, one per original message; throws `UnexpectedResponse` for any other body. */
export function parseFeedback(text: string): DeliveryFeedback[] {
  let records: FeedbackRecordJson[];
  try {
    records = JSON.parse(text) as FeedbackRecordJson[];
  } catch (error) {
    throw new AzureAdapterError('UnexpectedResponse', `feedback: not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(records)) throw new AzureAdapterError('UnexpectedResponse', 'feedback: expected a JSON array of records');
  return records.map((r, i) => {
    if (typeof r !== 'object' || r === null || !STATUSES.has(r.statusCode as DeliveryFeedbackStatus))
      throw new AzureAdapterError(
        'UnexpectedResponse',
        `feedback.${i}.statusCode: unknown status '${String((r as Partial<FeedbackRecordJson> | null)?.statusCode)}'`,
      );
    return {
      originalMessageId: r.originalMessageId,
      deviceId: r.deviceId,
      status: r.statusCode as DeliveryFeedbackStatus,
      ...(r.description ? { description: r.description } : {}),
      enqueuedTime: Date.parse(r.enqueuedTimeUtc),
    };
  });
}
