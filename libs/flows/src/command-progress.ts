import { CfsCommandStatus, type CommandState, type DeliveryFeedbackStatus } from '@fieldlink/domain';
import type { CommandStatusUpdate } from '@fieldlink/ports';

/*
 * How far a command has come, and which way it may move. A command only moves forward:
 * requested → sent → delivered → acknowledged, or from any state before acknowledged to one of
 * the failed ends; a late or repeated report (feedback after the acknowledgement, a second
 * Success) changes nothing. That is what keeps redelivered feedback harmless.
 */

const ORDER: Readonly<Record<CommandState, number>> = { requested: 0, sent: 1, delivered: 2, acknowledged: 3, expired: 4, rejected: 4, failed: 4 };
const FAILED: ReadonlySet<CommandState> = new Set(['expired', 'rejected', 'failed']);

export const isFinalCommandState = (state: CommandState): boolean => state === 'acknowledged' || FAILED.has(state);
export const isFailedCommandState = (state: CommandState): boolean => FAILED.has(state);

/** The state to move to, or undefined when `proposed` is where the command is or behind it. */
export function advanceCommandState(current: CommandState, proposed: CommandState): CommandState | undefined {
  if (isFinalCommandState(current) || current === proposed) return undefined;
  if (FAILED.has(proposed)) return proposed;
  return ORDER[proposed] > ORDER[current] ? proposed : undefined;
}

/** CFS knows three statuses; every state of ours maps to one, so CFS forms and views stay right. */
export function cfsStatusOf(state: CommandState): CfsCommandStatus {
  if (state === 'requested') return CfsCommandStatus.InProgress;
  return FAILED.has(state) ? CfsCommandStatus.Error : CfsCommandStatus.Sent;
}

export const commandStatusUpdate = (state: CommandState, statusReason?: string): CommandStatusUpdate => ({ state, cfsStatus: cfsStatusOf(state), ...(statusReason === undefined ? {} : { statusReason }) });

/** IoT Hub delivery feedback → the command state it means. */
export const FEEDBACK_STATE: Readonly<Record<DeliveryFeedbackStatus, CommandState>> = {
  Success: 'delivered',
  Expired: 'expired',
  DeliveryCountExceeded: 'failed',
  Rejected: 'rejected',
  Purged: 'failed',
};

const FEEDBACK_REASON: Readonly<Record<DeliveryFeedbackStatus, string>> = {
  Success: 'Delivered to the device',
  Expired: 'Expired before the device received it',
  DeliveryCountExceeded: 'The device abandoned it too many times',
  Rejected: 'The device rejected it',
  Purged: 'Purged from the device queue before delivery',
};

export const feedbackReason = (status: DeliveryFeedbackStatus, description?: string): string =>
  description === undefined || description === '' ? FEEDBACK_REASON[status] : `${FEEDBACK_REASON[status]}: ${description}`;
