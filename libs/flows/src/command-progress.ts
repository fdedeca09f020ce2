import { applyCommandEvent, cfsStatusOf, type CommandEvent, type CommandState, type DeliveryFeedbackStatus } from '@fieldlink/domain';
import type { CommandStatusUpdate } from '@fieldlink/ports';

/*
 * Reports about a command arrive out of order: the hub's Success feedback may come before the
 * dispatcher has written Sent, and the device's acknowledgement before the feedback. Each report
 * proves the steps before it, so it is applied as the domain's state machine walk from where the
 * command is: an acknowledgement of a command still `sent` is (feedback Success, acknowledged).
 * A report the command is already past changes nothing, which keeps redelivered reports harmless.
 */

export type CommandReport = { readonly type: 'sent' } | { readonly type: 'feedback'; readonly status: DeliveryFeedbackStatus } | { readonly type: 'acknowledged' };

const stepsTo = (report: CommandReport): readonly CommandEvent[] => {
  switch (report.type) {
    case 'sent':
      return [{ type: 'sent' }];
    case 'feedback':
      return [{ type: 'sent' }, report];
    case 'acknowledged':
      return [{ type: 'sent' }, { type: 'feedback', status: 'Success' }, { type: 'acknowledged' }];
  }
};

/** The state a report moves the command to, or undefined when the command is there or past it already. */
export function advanceCommandState(current: CommandState, report: CommandReport): CommandState | undefined {
  let state = current;
  let moved = false;
  for (const event of stepsTo(report)) {
    const next = applyCommandEvent(state, event);
    if (next.ok) {
      state = next.value;
      moved = true;
    } else if (moved) return state; // a later step does not apply (e.g. feedback Expired ends it)
  }
  return moved ? state : undefined;
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
