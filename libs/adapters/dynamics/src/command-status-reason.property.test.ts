import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMAND_STATUS_REASON_MAX, decodeCommandStatusReason, encodeCommandStatusReason } from './command-status-reason.js';

const states = fc.constantFrom('requested', 'sent', 'delivered', 'acknowledged', 'expired', 'rejected', 'failed' as const);
const cfsStatuses = fc.constantFrom(192350000, 192350001, 192350002 as const);

describe('the command state kept in msdyn_commandstatusreason', () => {
  it('decoding an encoded state and reason gives them back, whatever the reason holds, and the text fits the column', () => {
    fc.assert(
      fc.property(states, cfsStatuses, fc.option(fc.string({ maxLength: 1_900 }), { nil: undefined }), (state, cfs, reason) => {
        const text = encodeCommandStatusReason(state, reason);
        expect(text.length).toBeLessThanOrEqual(COMMAND_STATUS_REASON_MAX);
        expect(decodeCommandStatusReason(cfs, text)).toEqual({ state, ...(reason ? { statusReason: reason } : {}) });
      }),
    );
  });

  it('a reason longer than the column is cut with an ellipsis and keeps its state', () => {
    const text = encodeCommandStatusReason('rejected', 'x'.repeat(5_000));
    expect(text.length).toBe(COMMAND_STATUS_REASON_MAX);
    expect(decodeCommandStatusReason(192350002, text).state).toBe('rejected');
    expect(text.endsWith('…')).toBe(true);
  });

  it('reads a reason that Fieldlink did not write (the CFS Logic App, a person) by msdyn_commandstatus', () => {
    expect(decodeCommandStatusReason(192350001, 'SUCCESS')).toEqual({ state: 'sent', statusReason: 'SUCCESS' });
    expect(decodeCommandStatusReason(192350002, 'Device not found')).toEqual({ state: 'failed', statusReason: 'Device not found' });
    expect(decodeCommandStatusReason(192350000, null)).toEqual({ state: 'requested' });
    expect(decodeCommandStatusReason(192350001, '[Fieldlink: bogus] x')).toEqual({ state: 'sent', statusReason: '[Fieldlink: bogus] x' });
  });
});
