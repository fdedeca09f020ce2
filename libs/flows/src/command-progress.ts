import { applyCommandEvent, cfsStatusOf, type CommandEvent, type CommandState, type DeliveryFeedbackStatus } from '@fieldlink/domain';
import type { CommandStatusUpdate } from '@fieldlink/ports';

/*
 * Reports about a command arrive out of order: the device's acknowledgement may come before the
 * hub's feedback, which proves delivery, so an acknowledgement of a command still `sent` is
 * applied as the domain's walk (feedback Success, acknowledged). A report the command is already
 * past changes nothing, which keeps redelivered reports harmless. A report about a command still
 * `requested` came before the dispatcher wrote Sent: it is early, and is retried, not applied,
 * because writing it now could be overwritten by that Sent (the CRM port has no conditional update).
 */

export type CommandReport = { readonly type: 'sent' } | { readonly type: 'feedback'; readonly status: DeliveryFeedbackStatus } | { readonly type: 'acknowledged' };

export type CommandProgress = { readonly kind: 'move'; readonly state: CommandState } | { readonly kind: 'past' } | { readonly kind: 'early' };

const stepsTo = (report: CommandReport): readonly CommandEvent[] => {
  switch (report.type) {
    case 'sent':
      return [report];
    case 'feedback':
      return [report];
    case 'acknowledged':
      return [{ type: 'feedback', status: 'Success' }, { type: 'acknowledged' }];
  }
};

/** Where a report moves the command: to a new state, nowhere (it is past it), or not yet (it is early). */
export function progressOf(current: CommandState, report: CommandReport): CommandProgress {
  if (current === 'requested' && report.type !== 'sent') return { kind: 'early' };
  let state = current;
  let moved = false;
  for (const event of stepsTo(report)) {
    const next = applyCommandEvent(state, event);
    if (next.ok) {
      state = next.value;
      moved = true;
    } else if (moved) break; // a later step does not apply (e.g. feedback Expired ended it)
  }
  return moved ? { kind: 'move', state } : { kind: 'past' };
}

/** A report about a command that is not yet recorded as sent; thrown so the report comes again. */
export class EarlyCommandReport extends Error {
  constructor(commandId: string) {
    super(`Command ${commandId} is not recorded as sent yet; the report will be applied when it comes again`);
    this.name = 'EarlyCommandReport';
  }
}

export const commandStatusUpdate = (state: CommandState, statusReason?: string): CommandStatusUpdate => ({ state, cfsStatus: cfsStatusOf(state), ...(statusReason === undefined ? {} : { statusReason }) });

const FEEDBACK_REASON: Readonly<Record<DeliveryFeedbackStatus, string>> = {
  Success: 'Delivered to the device',
  Expired: 'Expired before the device received it',
  DeliveryCountExceeded: 'The device abandoned it too many times',
  Rejected: 'The device rejected it',
  Purged: 'Purged from the device queue before delivery',
};

export const feedbackReason = (status: DeliveryFeedbackStatus, description?: string): string =>
  description === undefined || description === '' || description === status ? FEEDBACK_REASON[status] : `${FEEDBACK_REASON[status]} (${description})`;
