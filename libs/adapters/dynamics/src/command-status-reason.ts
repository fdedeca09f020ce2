import type { CfsCommandStatus, CommandState } from '@fieldlink/domain';

/**
 * Fieldlink follows a command further than CFS does (requested → sent → delivered →
 * acknowledged, or expired / rejected / failed), and a stock organisation has no column for that.
 * CFS's own `msdyn_commandstatus` (In Progress / Sent / Error) is kept in step, and the state
 * goes in front of the text of `msdyn_commandstatusreason` (Memo, 2,000 characters), where a
 * person reading the command in the CRM sees it:
 *
 *     [Fieldlink: delivered] Delivered to the device
 *
 * A reason without that prefix (written by the CFS Logic App, a person, a flow) is read with the
 * state its `msdyn_commandstatus` implies.
 */
export const COMMAND_STATUS_REASON_MAX = 2000;

const STATES: readonly CommandState[] = ['requested', 'sent', 'delivered', 'acknowledged', 'expired', 'rejected', 'failed'];
const PREFIX = /^\[Fieldlink: ([a-z]+)\](?: ([\s\S]*))?$/;

export function encodeCommandStatusReason(state: CommandState, reason: string | undefined): string {
  const prefix = `[Fieldlink: ${state}]`;
  if (reason === undefined || reason === '') return prefix;
  const room = COMMAND_STATUS_REASON_MAX - prefix.length - 1;
  return `${prefix} ${reason.length <= room ? reason : `${reason.slice(0, room - 1)}…`}`;
}

export function decodeCommandStatusReason(
  cfsStatus: CfsCommandStatus,
  text: string | null | undefined,
): { readonly state: CommandState; readonly statusReason?: string } {
  const m = typeof text === 'string' ? PREFIX.exec(text) : null;
  if (m !== null && (STATES as readonly string[]).includes(m[1]!)) {
    const reason = m[2];
    return { state: m[1] as CommandState, ...(reason !== undefined && reason !== '' ? { statusReason: reason } : {}) };
  }
  const state: CommandState = cfsStatus === 192350001 ? 'sent' : cfsStatus === 192350002 ? 'failed' : 'requested';
  return { state, ...(typeof text === 'string' && text !== '' ? { statusReason: text } : {}) };
}
