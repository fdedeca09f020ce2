// CommonJS: Message is only reachable through the default import under Node's ESM loader.
import device, { type Client, type Message, type Twin } from 'azure-iot-device';
import { Amqp as AmqpTransport } from 'azure-iot-device-amqp';
import { Mqtt as MqttTransport } from 'azure-iot-device-mqtt';
import { backoffDelay } from '@fieldlink/domain';
import {
  DeviceConnectionError,
  silentLog,
  type DeviceClientPort,
  type DeviceConnection,
  type DeviceMessageOutcome,
  type LogPort,
  type ReceivedCloudToDeviceMessage,
} from '@fieldlink/ports';
import { redact, scrubbedCause, sdkCodeOf, secretsOf, AzureAdapterError, type AzureAdapterErrorCode } from './azure-auth.js';
import { RECONNECT_BACKOFF } from './retry-policy.js';

export interface IotHubDeviceClientOptions {
  /** The device's own connection string (`HostName=…;DeviceId=…;SharedAccessKey=…`). */
  readonly connectionStringFor: (deviceId: string) => Promise<string> | string;
  /**
   * `mqtt` (the default) is what real thermostats speak. Over MQTT IoT Hub has no reject and no
   * abandon: the client library acknowledges (PUBACK) a message as it arrives, which completes
   * it, so an outcome other than complete is only logged (see README). `amqp` settles all three
   * ways.
   */
  readonly transport?: 'mqtt' | 'amqp';
  /** Extra CA certificate (PEM) to trust, for a hub behind a private CA. */
  readonly ca?: string;
  readonly log?: LogPort;
  /** In [0, 1): draws the jitter of the waits before a client the SDK gave up on is replaced (Math.random by default). */
  readonly random?: () => number;
}

/** DeviceClientPort with azure-iot-device: each connection is one device's client. */
export class IotHubDeviceClient implements DeviceClientPort {
  constructor(private readonly options: IotHubDeviceClientOptions) {}

  async connect(deviceId: string): Promise<DeviceConnection> {
    const connectionString = await this.options.connectionStringFor(deviceId);
    const connection = new IotHubDeviceConnection(deviceId, connectionString, this.options);
    await connection.open();
    return connection;
  }
}

class IotHubDeviceConnection implements DeviceConnection {
  private client: Client;
  private readonly secrets: string[];
  private readonly transport: 'mqtt' | 'amqp';
  private readonly log: LogPort;
  private closed = false;
  private twin: Twin | undefined;
  private queue: Promise<void> = Promise.resolve();
  private handler: ((message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>) | undefined;

  constructor(
    readonly deviceId: string,
    private readonly connectionString: string,
    private readonly options: IotHubDeviceClientOptions,
  ) {
    this.secrets = secretsOf(connectionString);
    this.transport = options.transport ?? 'mqtt';
    this.log = options.log ?? silentLog;
    this.client = this.newClient();
  }

  private newClient(): Client {
    try {
      const client = device.Client.fromConnectionString(this.connectionString, this.transport === 'amqp' ? AmqpTransport : MqttTransport);
      if (this.options.ca) void client.setOptions({ ca: this.options.ca });
      client.on('error', (error: Error) => this.log.warn('device-client.error', { deviceId: this.deviceId, error: redact(error.message, this.secrets) }));
      // The SDK reconnects by itself only after errors its retry policy knows as transient; after
      // any other (a connection reset by the hub, ECONNRESET) it only emits 'disconnect' and
      // stays disconnected for good: no cloud-to-device message would reach the device again.
      client.on('disconnect', () => this.reconnect(client, 0));
      return client;
    } catch (error) {
      throw this.error(`Device '${this.deviceId}' connection string is misconfigured`, error, 'Misconfigured');
    }
  }

  async open(): Promise<void> {
    try {
      await this.client.open();
    } catch (error) {
      await this.client.close().catch(() => undefined);
      throw this.error(`Device '${this.deviceId}' could not connect`, error);
    }
  }

  async sendTelemetry(body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void> {
    this.assertOpen();
    const message = new device.Message(Buffer.from(body));
    for (const [key, value] of Object.entries(properties ?? {})) message.properties.add(key, value);
    try {
      await this.client.sendEvent(message);
    } catch (error) {
      throw this.error(`Device '${this.deviceId}' could not send telemetry`, error);
    }
  }

  onCloudToDeviceMessage(handler: (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>): void {
    if (this.handler) throw new DeviceConnectionError('HandlerExists', `Device '${this.deviceId}' already has a cloud-to-device handler.`);
    this.handler = handler;
    this.listen(this.client);
  }

  async reportProperties(patch: Readonly<Record<string, unknown>>): Promise<void> {
    this.assertOpen();
    try {
      this.twin ??= await this.client.getTwin();
      const twin = this.twin;
      await new Promise<void>((resolve, reject) => twin.properties.reported.update({ ...patch }, (error?: Error) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw this.error(`Device '${this.deviceId}' could not report properties`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Not waiting for a handler still at work: it may never finish, and the hub takes the message back.
    await this.client.close().catch(() => undefined);
  }

  /**
   * Replaces a client the SDK gave up on by a new one, opened and listening; tried again until it
   * opens or the connection is closed, the n-th wait (n = `attempt`) drawn with full jitter from
   * [0, min(10 s, 1 s * 2^n)] (`RECONNECT_BACKOFF`), so devices dropped together do not reconnect together.
   */
  private reconnect(lost: Client, attempt: number): void {
    if (this.closed || this.client !== lost) return;
    const delayMs = backoffDelay(RECONNECT_BACKOFF, attempt, this.options.random ?? Math.random);
    const timer = setTimeout(() => {
      if (this.closed || this.client !== lost) return;
      void lost.close().catch(() => undefined);
      let next: Client;
      try {
        next = this.newClient();
      } catch (error) {
        this.log.warn('device-client.reconnect-failed', { deviceId: this.deviceId, error: redact(String(error), this.secrets) });
        return;
      }
      this.client = next;
      this.twin = undefined;
      next.open().then(
        () => {
          this.log.info('device-client.reconnected', { deviceId: this.deviceId });
          if (this.closed) return void next.close().catch(() => undefined);
          if (this.handler) this.listen(next);
        },
        (error: unknown) => {
          this.log.warn('device-client.reconnect-failed', {
            deviceId: this.deviceId,
            attempt: attempt + 1,
            error: redact(error instanceof Error ? error.message : String(error), this.secrets),
          });
          void next.close().catch(() => undefined);
          this.client = lost;
          this.reconnect(lost, attempt + 1);
        },
      );
    }, delayMs);
    timer.unref();
  }

  private listen(client: Client): void {
    client.on('message', (message: Message) => {
      // One at a time, in order: the next waits for the handler of the one before.
      this.queue = this.queue
        .then(() => this.handle(client, message))
        .catch((error: unknown) => this.log.warn('device-client.c2d-failed', { deviceId: this.deviceId, error: String(error) }));
    });
  }

  private async handle(client: Client, message: Message): Promise<void> {
    if (this.closed) return;
    const properties: Record<string, string> = {};
    for (let i = 0; i < message.properties.count(); i++) {
      const item = message.properties.getItem(i);
      if (item) properties[item.key] = String(item.value);
    }
    const received: ReceivedCloudToDeviceMessage = {
      messageId: String(message.messageId ?? ''),
      body: new Uint8Array(message.getBytes()),
      ...(message.correlationId ? { correlationId: String(message.correlationId) } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    };
    const outcome = await this.handler!(received);
    if (this.closed) return;
    if (outcome === 'complete') {
      await client.complete(message);
      return;
    }
    if (this.transport === 'amqp') {
      await (outcome === 'reject' ? client.reject(message) : client.abandon(message));
      return;
    }
    // MQTT has neither: the PUBACK sent on arrival completed the message already.
    this.log.warn('device-client.outcome-unsupported-over-mqtt', { deviceId: this.deviceId, messageId: received.messageId, outcome });
  }

  private assertOpen(): void {
    if (this.closed) throw new DeviceConnectionError('ConnectionClosed', `Device '${this.deviceId}' connection is closed.`);
  }

  private error(what: string, error: unknown, code: AzureAdapterErrorCode = 'RequestFailed'): AzureAdapterError {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const sdkCode = sdkCodeOf(error);
    return new AzureAdapterError(code, redact(`${what}: ${message}`, this.secrets), {
      cause: scrubbedCause(error, this.secrets),
      ...(sdkCode === undefined ? {} : { sdkCode }),
    });
  }
}
