import { describe, expect, it } from 'vitest';
import { applyRegistrationEvent, NEW_DEVICE_REGISTRATION } from './registration-lifecycle.js';
import { RegistrationStatus } from './registration-values.js';

describe('registration', () => {
  it('goes Unknown → In Progress → Registered, and back to In Progress after an Error, keeping the message', () => {
    const inProgress = applyRegistrationEvent(NEW_DEVICE_REGISTRATION, { type: 'requested' });
    expect(inProgress).toEqual({ ok: true, value: { status: RegistrationStatus.InProgress, message: '' } });
    if (!inProgress.ok) return;
    const failed = applyRegistrationEvent(inProgress.value, { type: 'failed', message: 'DeviceAlreadyExists' });
    expect(failed).toEqual({ ok: true, value: { status: RegistrationStatus.Error, message: 'DeviceAlreadyExists' } });
    if (!failed.ok) return;
    const retried = applyRegistrationEvent(failed.value, { type: 'requested' });
    expect(retried.ok && applyRegistrationEvent(retried.value, { type: 'succeeded' })).toEqual({
      ok: true,
      value: { status: RegistrationStatus.Registered, message: 'Registered' },
    });
  });

  it('refuses steps that are not possible, with the reason', () => {
    expect(applyRegistrationEvent(NEW_DEVICE_REGISTRATION, { type: 'succeeded' })).toEqual({
      ok: false,
      error: { code: 'NotInProgress', message: 'no registration is in progress' },
    });
    expect(applyRegistrationEvent({ status: RegistrationStatus.InProgress, message: '' }, { type: 'requested' })).toEqual({
      ok: false,
      error: { code: 'AlreadyRequested', message: 'a registration is already in progress' },
    });
    expect(applyRegistrationEvent({ status: RegistrationStatus.Registered, message: '' }, { type: 'unregistered' })).toEqual({
      ok: true,
      value: { status: RegistrationStatus.Unregistered, message: '' },
    });
  });
});
