import type { CodedError } from '@fieldlink/domain';

/** Why a fleet refused a request (the simulator page answers DeviceNotFound with 404, the others with 400). */
export type FleetErrorCode =
  /** Not an IoT Hub device id. */
  | 'InvalidDeviceId'
  /** A device of this id is in the fleet already. */
  | 'DeviceExists'
  /** No device of this id in the fleet. */
  | 'DeviceNotFound'
  /** A number that is not finite, or out of its range. */
  | 'InvalidValue'
  /** The device has no open connection to send on. */
  | 'NotConnected'
  /** The hub did not take a message, or refused the connection; the message says why. */
  | 'SendFailed';

/** A fleet's refusal: its code, and the field it is about (`path`, as in a `ValidationIssue`). */
export interface FleetError extends CodedError<FleetErrorCode> {
  readonly path: string;
}

export const fleetError = (code: FleetErrorCode, path: string, message: string): FleetError => ({ code, path, message });

export const notInFleet = (deviceId: string): FleetError => fleetError('DeviceNotFound', 'deviceId', `no thermostat "${deviceId}" in the fleet`);

export const alreadyInFleet = (deviceId: string): FleetError => fleetError('DeviceExists', 'deviceId', `"${deviceId}" is in the fleet already`);

/** `path: message`, for a log line or a command-line error. */
export const describeFleetError = (error: FleetError): string => `${error.path}: ${error.message}`;
