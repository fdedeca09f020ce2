import type { CodedError } from '../shared/coded-error.js';
import { err, ok, type Result } from '../shared/result.js';
import { RegistrationStatus } from './registration-values.js';

export interface Registration {
  readonly status: RegistrationStatus;
  /** `msdyn_registrationmessage`: why it failed, or what the hub said. */
  readonly message: string;
}

export type RegistrationEvent =
  | { readonly type: 'requested' }
  | { readonly type: 'succeeded'; readonly message?: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'unregistered' };

export const NEW_DEVICE_REGISTRATION: Registration = { status: RegistrationStatus.Unknown, message: '' };

/** Why the registration lifecycle refused an event. */
export type RegistrationRefusal = CodedError<
  /** A request while a registration is in progress, or for a registered device. */
  | 'AlreadyRequested'
  /** An outcome with no registration in progress. */
  | 'NotInProgress'
  /** Unregistering a device that is not registered. */
  | 'NotRegistered'
>;

/**
 * Registration of a device with the hub: Unknown / Unregistered / Error → In Progress on a request;
 * In Progress → Registered or Error (with the message); Registered → Unregistered. Anything else is
 * refused with the reason (a second request while one is in progress, say).
 */
export function applyRegistrationEvent(current: Registration, event: RegistrationEvent): Result<Registration, RegistrationRefusal> {
  switch (event.type) {
    case 'requested':
      if (current.status === RegistrationStatus.InProgress) return err({ code: 'AlreadyRequested', message: 'a registration is already in progress' });
      if (current.status === RegistrationStatus.Registered) return err({ code: 'AlreadyRequested', message: 'the device is already registered' });
      return ok({ status: RegistrationStatus.InProgress, message: '' });
    case 'succeeded':
      if (current.status !== RegistrationStatus.InProgress) return err({ code: 'NotInProgress', message: 'no registration is in progress' });
      return ok({ status: RegistrationStatus.Registered, message: event.message ?? 'Registered' });
    case 'failed':
      if (current.status !== RegistrationStatus.InProgress) return err({ code: 'NotInProgress', message: 'no registration is in progress' });
      return ok({ status: RegistrationStatus.Error, message: event.message });
    case 'unregistered':
      if (current.status !== RegistrationStatus.Registered) return err({ code: 'NotRegistered', message: 'only a registered device can be unregistered' });
      return ok({ status: RegistrationStatus.Unregistered, message: '' });
  }
}
