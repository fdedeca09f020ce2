// Flows 16–19 (commands): reports about a command, applied in order whatever order they arrive in.
import {
  applyCommandEvent,
  cfsStatusOf,
  err,
  FieldlinkError,
  ok,
  type CodedError,
  type CommandEvent,
  type CommandState,
  type DeliveryFeedbackStatus,
  type Result,
} from '@fieldlink/domain';
import type { CommandStatusUpdate, CrmCommandsPort } from '@fieldlink/ports';

/*
 * Reports about a command arrive out of order: the device's acknowledgement may come before the
 * hub's feedback, which proves delivery, so an acknowledgement of a command still `sent` is
 * applied as the domain's walk (feedback Success, acknowledged). A report the command is already
 * past changes nothing, which keeps redelivered reports harmless. A report about a command still
 * `requested` came before the dispatcher wrote Sent: it is early, and is retried, not applied
 * (the domain has no step from `requested` on feedback or an answer).
 *
 * Every status write that follows a read is conditional on the state read (`writeReport`), so a
 * writer that read an older state can never overwrite a newer one: when another writer moved the
 * command between the read and the write, the report is decided again against the state found.
 */

export type CommandReport =
  { readonly type: 'sent' } | { readonly type: 'feedback'; readonly status: DeliveryFeedbackStatus } | { readonly type: 'acknowledged' };

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

export type ReportWrite =
  /** Written: the command moved from `from` (the state the write was conditional on) to `state`. */
  | { readonly kind: 'moved'; readonly from: CommandState; readonly state: CommandState }
  /** Nothing written: the command is in `state`, already past what the report would move it to. */
  | { readonly kind: 'past'; readonly state: CommandState }
  | { readonly kind: 'early' }
  /** Nothing written: the CRM holds no such command (any more). */
  | { readonly kind: 'gone' };

/** Bounds the re-decisions of one report; each finds a later state, and there are only so many. */
const MAX_REDECISIONS = 8;

/**
 * Writes where `report` moves a command last read in `read`, conditionally on that state. When
 * another writer moved the command first, the write is refused with the state found, and the
 * report is decided again from there with `progressOf`: a later state wins, and the command
 * never moves back.
 */
export async function writeReport(
  crm: CrmCommandsPort,
  commandId: string,
  read: CommandState,
  report: CommandReport,
  statusReason: string,
): Promise<ReportWrite> {
  let current = read;
  for (let attempt = 0; attempt < MAX_REDECISIONS; attempt++) {
    const progress = progressOf(current, report);
    if (progress.kind === 'early') return progress;
    if (progress.kind === 'past') return { kind: 'past', state: current };
    const written = await crm.updateCommandStatus(commandId, commandStatusUpdate(progress.state, statusReason), { ifState: current });
    if (written.ok) return { kind: 'moved', from: current, state: progress.state };
    if (written.error.code === 'CommandNotFound') return { kind: 'gone' };
    current = written.error.found;
  }
  // A bug: each refusal names a state the command moved on to, and a command only moves forward
  // through a handful of states, so the re-decisions end long before this bound.
  throw new Error(`Command ${commandId}: its state kept changing under ${MAX_REDECISIONS} conditional status writes`);
}

/**
 * A report (hub feedback, a device's answer) about a command not yet recorded as sent: it came
 * before the dispatcher's Sent write, and is applied when it comes again.
 */
export interface EarlyCommandReport extends CodedError<'ReportBeforeSent'> {
  readonly commandId: string;
}

export const earlyCommandReport = (commandId: string): EarlyCommandReport => ({
  code: 'ReportBeforeSent',
  message: `Command ${commandId} is not recorded as sent yet; the report will be applied when it comes again`,
  commandId,
});

/** What applying one report did; an early report is the error, to be given again. */
export type ReportApplied = Result<void, EarlyCommandReport>;

export const reportApplied: ReportApplied = ok(undefined);
export const reportEarly = (commandId: string): ReportApplied => err(earlyCommandReport(commandId));

/**
 * The rejection of a report batch's handler (the hub's feedback, the telemetry stream) when a
 * report in it is early: a subscription handler rejects to have its batch given again, the
 * ports' one way to say "not yet". The early report is the `cause`.
 */
export class CommandReportDeferred extends FieldlinkError<'ReportBeforeSent'> {
  constructor(readonly report: EarlyCommandReport) {
    super(report.code, report.message, { cause: report });
    this.name = 'CommandReportDeferred';
  }
}

/** Resolves when the report was applied; rejects with `CommandReportDeferred` when it was early. */
export function redeliverWhenEarly(applied: ReportApplied): void {
  if (!applied.ok) throw new CommandReportDeferred(applied.error);
}

export const commandStatusUpdate = (state: CommandState, statusReason?: string): CommandStatusUpdate => ({
  state,
  cfsStatus: cfsStatusOf(state),
  ...(statusReason === undefined ? {} : { statusReason }),
});

const FEEDBACK_REASON: Readonly<Record<DeliveryFeedbackStatus, string>> = {
  Success: 'Delivered to the device',
  Expired: 'Expired before the device received it',
  DeliveryCountExceeded: 'The device abandoned it too many times',
  Rejected: 'The device rejected it',
  Purged: 'Purged from the device queue before delivery',
};

export const feedbackReason = (status: DeliveryFeedbackStatus, description?: string): string =>
  description === undefined || description === '' || description === status ? FEEDBACK_REASON[status] : `${FEEDBACK_REASON[status]} (${description})`;
