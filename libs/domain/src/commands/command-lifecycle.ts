import type { CodedError } from '../shared/coded-error.js';
import { err, ok, type Result } from '../shared/result.js';
import { CfsCommandStatus, type CommandState, type DeliveryFeedbackStatus } from './command-values.js';

export type CommandEvent =
  | { readonly type: 'sent' }
  | { readonly type: 'sendFailed'; readonly reason: string }
  | { readonly type: 'feedback'; readonly status: DeliveryFeedbackStatus }
  | { readonly type: 'acknowledged' }
  | { readonly type: 'timedOut' }
  /** The device gave no answer within the answer timeout after the command was delivered. */
  | { readonly type: 'answerTimedOut' };

export const TERMINAL_COMMAND_STATES: ReadonlySet<CommandState> = new Set(['acknowledged', 'expired', 'rejected', 'failed']);

/**
 * Hub delivery feedback to the state it leads to: Success means the device took the message;
 * Expired (TTL passed) expires it; Rejected (the device rejected it) rejects it;
 * DeliveryCountExceeded (the device kept abandoning it) and Purged (the queue was purged) fail it.
 */
export function commandStateForFeedback(status: DeliveryFeedbackStatus): CommandState {
  switch (status) {
    case 'Success':
      return 'delivered';
    case 'Expired':
      return 'expired';
    case 'Rejected':
      return 'rejected';
    case 'DeliveryCountExceeded':
    case 'Purged':
      return 'failed';
  }
}

/** The CFS status kept in step: In Progress until sent, Sent on the way or arrived, Error at a failed end. */
export function cfsStatusOf(state: CommandState): CfsCommandStatus {
  switch (state) {
    case 'requested':
      return CfsCommandStatus.InProgress;
    case 'sent':
    case 'delivered':
    case 'acknowledged':
      return CfsCommandStatus.Sent;
    case 'expired':
    case 'rejected':
    case 'failed':
      return CfsCommandStatus.Error;
  }
}

/** Why the command lifecycle refused an event: the command has ended, or the event does not apply to its state. */
export type CommandTransitionRefusal = CodedError<'CommandEnded' | 'TransitionRefused'>;

const refused = (message: string): Result<never, CommandTransitionRefusal> => err({ code: 'TransitionRefused', message });

/**
 * The command state machine: requested → sent → delivered → acknowledged, or expired / rejected /
 * failed. No step is skipped (an acknowledgement before delivery feedback is refused: apply the
 * feedback first) and terminal states never change. A timeout (its time to live passed) fails a
 * command never sent and expires one sent but not delivered; an answer timeout expires one
 * delivered that the device never answered.
 */
export function applyCommandEvent(state: CommandState, event: CommandEvent): Result<CommandState, CommandTransitionRefusal> {
  if (TERMINAL_COMMAND_STATES.has(state)) return err({ code: 'CommandEnded', message: `the command is ${state}: "${event.type}" cannot change it` });
  switch (event.type) {
    case 'sent':
      return state === 'requested' ? ok('sent') : refused(`the command was already ${state}`);
    case 'sendFailed':
      return state === 'requested' ? ok('failed') : refused(`the command was already ${state}`);
    case 'feedback':
      return state === 'sent'
        ? ok(commandStateForFeedback(event.status))
        : refused(state === 'requested' ? 'delivery feedback for a command not sent yet' : `delivery feedback for a command already ${state}`);
    case 'acknowledged':
      return state === 'delivered' ? ok('acknowledged') : refused(`an acknowledgement needs the command delivered first; it is ${state}`);
    case 'timedOut':
      if (state === 'requested') return ok('failed');
      if (state === 'sent') return ok('expired');
      return refused('a delivered command does not time out on its time to live: its answer timeout applies');
    case 'answerTimedOut':
      return state === 'delivered' ? ok('expired') : refused(`an answer timeout applies to a delivered command; it is ${state}`);
  }
}
