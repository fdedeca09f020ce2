import { FieldlinkError } from '@fieldlink/domain';

/** A cloud-to-device message as the device receives it. */
export interface ReceivedCloudToDeviceMessage {
  readonly messageId: string;
  readonly body: Uint8Array;
  readonly correlationId?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * What the device does with a message: complete (Success feedback), reject (Rejected feedback,
 * never delivered again) or abandon (delivered again, until the hub's max delivery count).
 */
export type DeviceMessageOutcome = 'complete' | 'reject' | 'abandon';

/** Why a call on a device connection was refused before it reached the hub. */
export type DeviceConnectionErrorCode =
  /** The connection was closed (by `close`, or by the hub or client shutting down): connect again. */
  | 'ConnectionClosed'
  /** `onCloudToDeviceMessage` was called a second time on one connection. */
  | 'HandlerExists';

export class DeviceConnectionError extends FieldlinkError<DeviceConnectionErrorCode> {
  constructor(code: DeviceConnectionErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'DeviceConnectionError';
  }
}

/**
 * One device's connection to the hub (the simulator's side of flows 1–2 and 16–19). A call on a
 * closed connection, or a second handler, throws (or rejects with) a `DeviceConnectionError`.
 */
export interface DeviceConnection {
  readonly deviceId: string;
  sendTelemetry(body: Uint8Array, properties?: Readonly<Record<string, string>>): Promise<void>;
  /** Only one handler per connection; messages arrive one at a time, in order. */
  onCloudToDeviceMessage(handler: (message: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>): void;
  /** Patches the twin's reported properties. */
  reportProperties(patch: Readonly<Record<string, unknown>>): Promise<void>;
  close(): Promise<void>;
}

export interface DeviceClientPort {
  /** Connects as the device; the credentials are the adapter's concern (connection string, SAS, X.509). */
  connect(deviceId: string): Promise<DeviceConnection>;
}
