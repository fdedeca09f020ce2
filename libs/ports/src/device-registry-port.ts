import { FieldlinkError, type CodedError } from '@fieldlink/domain';

/** One device to register (flows 16′–18′): created enabled, with its tags and desired properties. */
export interface DeviceRegistration {
  readonly deviceId: string;
  readonly tags?: Readonly<Record<string, unknown>>;
  readonly desiredProperties?: Readonly<Record<string, unknown>>;
}

export type DeviceRegistrationResult =
  | { readonly deviceId: string; readonly ok: true; /** The device existed: it was enabled and updated, not created. */ readonly existed: boolean }
  | { readonly deviceId: string; readonly ok: false; readonly error: DeviceRegistrationError };

/** Why one device of a registration was not registered (the others go on). */
export type DeviceRegistrationError = CodedError<DeviceRegistryErrorCode>;

export interface DeviceTwin {
  readonly deviceId: string;
  readonly status: 'enabled' | 'disabled';
  readonly connectionState: 'Connected' | 'Disconnected';
  /** Epoch ms of the device's last activity, if the hub has seen it. */
  readonly lastActivityTime?: number;
  readonly tags: Readonly<Record<string, unknown>>;
  readonly desired: Readonly<Record<string, unknown>>;
  readonly reported: Readonly<Record<string, unknown>>;
  /** Increases with every change of the twin. */
  readonly version: number;
}

export interface TwinPatch {
  readonly tags?: Readonly<Record<string, unknown>>;
  readonly desiredProperties?: Readonly<Record<string, unknown>>;
}

/**
 * The hub's identity registry and device twins. Registration is idempotent: registering a
 * device that exists enables it and applies the tags and desired properties again.
 */
export interface DeviceRegistryPort {
  /** One result per device, in the order given; one device's failure does not fail the others. */
  registerDevices(devices: readonly DeviceRegistration[]): Promise<DeviceRegistrationResult[]>;
  /** Merges the patch into the twin (JSON merge patch semantics: null removes a key). */
  updateTwin(deviceId: string, patch: TwinPatch): Promise<DeviceTwin>;
  getTwin(deviceId: string): Promise<DeviceTwin | undefined>;
  getTwins(deviceIds: readonly string[]): Promise<DeviceTwin[]>;
  /** Ids of the enabled devices the hub reports connected now (in no particular order): where a command to all connected devices goes. */
  connectedDeviceIds(): Promise<string[]>;
}

/** Why a registry call failed, or (in `DeviceRegistrationResult`) why one device was not registered. */
export type DeviceRegistryErrorCode =
  /** No device with this id in the registry. */
  | 'DeviceNotFound'
  /** Not an IoT Hub device id (1 to 128 of the characters the hub allows). */
  | 'InvalidDeviceId'
  /** The hub refused this one device of a bulk registration; its answer is in the message. */
  | 'Refused'
  /** 429: try again later. */
  | 'Throttled'
  /** The hub could not be reached or answered 5xx. */
  | 'Unavailable';

/** The codes a retry cannot fix (`FieldlinkError.permanent`): the queue dead-letters them at once. */
export const PERMANENT_DEVICE_REGISTRY_ERROR_CODES: ReadonlySet<DeviceRegistryErrorCode> = new Set<DeviceRegistryErrorCode>([
  'DeviceNotFound',
  'InvalidDeviceId',
]);

export class DeviceRegistryError extends FieldlinkError<DeviceRegistryErrorCode> {
  constructor(code: DeviceRegistryErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, { ...options, permanent: PERMANENT_DEVICE_REGISTRY_ERROR_CODES.has(code) });
    this.name = 'DeviceRegistryError';
  }
}
