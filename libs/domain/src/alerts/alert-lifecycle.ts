import type { CodedError } from '../shared/coded-error.js';
import { err, ok, type Result } from '../shared/result.js';
import { AlertState, AlertStatus } from './alert-values.js';

/** The (statecode, statuscode) pairs an `msdyn_iotalert` can be in. */
export type AlertPhase =
  | { readonly state: typeof AlertState.Active; readonly status: typeof AlertStatus.Active }
  | { readonly state: typeof AlertState.Inactive; readonly status: typeof AlertStatus.Inactive }
  | { readonly state: typeof AlertState.InProgress; readonly status: typeof AlertStatus.InProgressCaseCreated | typeof AlertStatus.InProgressCommandSent }
  | { readonly state: typeof AlertState.Closed; readonly status: typeof AlertStatus.Closed };

export const ALERT_CREATED: AlertPhase = { state: AlertState.Active, status: AlertStatus.Active };

/** What the rules framework (flow 11) or a person does to an alert. */
export type AlertAction = 'commandSent' | 'caseCreated' | 'workOrderCreated' | 'notified' | 'deactivated' | 'reactivated' | 'closed';

const phase = (state: AlertState, status: AlertStatus): AlertPhase => ({ state, status }) as AlertPhase;

/** Why the alert lifecycle refused an action. */
export type AlertActionRefusal = CodedError<
  /** The alert is closed, which is terminal. */
  | 'AlertClosed'
  /** The alert is inactive: reactivate it first (closing it is allowed). */
  | 'AlertInactive'
  /** The action does not apply to the alert's phase (a second case, deactivating one in progress). */
  | 'ActionRefused'
>;

const refused = (code: AlertActionRefusal['code'], message: string): Result<never, AlertActionRefusal> => err({ code, message });

/**
 * The alert state machine. Sending a command leads to In Progress – Command Sent, creating a case
 * to In Progress – Case Created (a case outranks a command: a later command keeps Case Created),
 * a work order or a notification keeps the status (CFS has no status for them; the work order
 * points back to the alert), deactivating to Inactive, closing to Closed, which is terminal.
 * Illegal steps are refused with the reason.
 */
export function applyAlertAction(current: AlertPhase, action: AlertAction): Result<AlertPhase, AlertActionRefusal> {
  if (current.state === AlertState.Closed) return refused('AlertClosed', `the alert is closed: "${action}" is not possible any more`);
  if (current.state === AlertState.Inactive) {
    if (action === 'reactivated') return ok(ALERT_CREATED);
    if (action === 'closed') return ok(phase(AlertState.Closed, AlertStatus.Closed));
    return refused('AlertInactive', `the alert is inactive: reactivate it before "${action}"`);
  }
  switch (action) {
    case 'commandSent':
      return ok(current.status === AlertStatus.InProgressCaseCreated ? current : phase(AlertState.InProgress, AlertStatus.InProgressCommandSent));
    case 'caseCreated':
      if (current.status === AlertStatus.InProgressCaseCreated) return refused('ActionRefused', 'the alert already has a case');
      return ok(phase(AlertState.InProgress, AlertStatus.InProgressCaseCreated));
    case 'workOrderCreated':
    case 'notified':
      return ok(current);
    case 'deactivated':
      if (current.state !== AlertState.Active) return refused('ActionRefused', 'only an active alert can be deactivated; close an alert in progress');
      return ok(phase(AlertState.Inactive, AlertStatus.Inactive));
    case 'reactivated':
      return refused('ActionRefused', 'the alert is not inactive');
    case 'closed':
      return ok(phase(AlertState.Closed, AlertStatus.Closed));
  }
}
