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

/**
 * Registration of a device with the hub: Unknown / Unregistered / Error → In Progress on a request;
 * In Progress → Registered or Error (with the message); Registered → Unregistered. Anything else is
 * refused with the reason (a second request while one is in progress, say).
 */
export function applyRegistrationEvent(current: Registration, event: RegistrationEvent): Result<Registration, string> {
  switch (event.type) {
    case 'requested':
      if (current.status === RegistrationStatus.InProgress) return err('a registration is already in progress');
      if (current.status === RegistrationStatus.Registered) return err('the device is already registered');
      return ok({ status: RegistrationStatus.InProgress, message: '' });
    case 'succeeded':
      if (current.status !== RegistrationStatus.InProgress) return err('no registration is in progress');
      return ok({ status: RegistrationStatus.Registered, message: event.message ?? 'Registered' });
    case 'failed':
      if (current.status !== RegistrationStatus.InProgress) return err('no registration is in progress');
      return ok({ status: RegistrationStatus.Error, message: event.message });
    case 'unregistered':
      if (current.status !== RegistrationStatus.Registered) return err('only a registered device can be unregistered');
      return ok({ status: RegistrationStatus.Unregistered, message: '' });
  }
}
