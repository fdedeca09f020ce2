// Flows 10–12 (alerts): what a user does with a stored IoT alert from the console: its state, a work order, a command.
import {
  AlertState,
  applyAlertAction,
  err,
  ok,
  type AlertAction,
  type AlertActionRefusal,
  type AlertPhase,
  type CodedError,
  type Result,
} from '@fieldlink/domain';
import type { CrmAlertsPort, CrmWorkPort, LogPort, StoredIoTAlert } from '@fieldlink/ports';
import type { CommandRequestError, CommandRequests, RequestedCommand } from '../commands/command-requests.js';

export interface AlertActionsDeps {
  readonly crm: CrmAlertsPort & CrmWorkPort;
  readonly commands: CommandRequests;
  readonly log: LogPort;
}

export type AlertActionError =
  /** No such alert: not there when read, or deleted before the action's write to it (the port's `AlertNotFound`). */
  | CodedError<'AlertNotFound'>
  /** The alert's lifecycle refuses the action (closed, inactive, a second case); the message says why. */
  | AlertActionRefusal
  | CommandRequestError;

export interface SendCommandOptions {
  /** Makes the action idempotent: the same id never makes a second command. */
  readonly commandId?: string;
}

/** The CFS thermostat's notification command: the device shows the message to people nearby. */
export const NOTIFICATION_COMMAND = 'Notification';

/**
 * The actions on an IoT alert (domain.md, "Actions on an alert"), for the rules framework and
 * the console alike: send a command (the alert goes to In Progress – Command Sent), create a
 * case (In Progress – Case Created, the case points back to the alert), create a work order,
 * notify, close. Each is idempotent: a case and a work order per alert, a command per id.
 */
export class AlertActions {
  constructor(private readonly deps: AlertActionsDeps) {}

  async sendCommand(
    alertId: string,
    commandName: string,
    parameters: Readonly<Record<string, unknown>>,
    options: SendCommandOptions = {},
  ): Promise<Result<RequestedCommand, AlertActionError>> {
    return this.requestCommand(alertId, commandName, parameters, 'commandSent', options);
  }

  private async requestCommand(
    alertId: string,
    commandName: string,
    parameters: Readonly<Record<string, unknown>>,
    action: AlertAction,
    options: SendCommandOptions,
  ): Promise<Result<RequestedCommand, AlertActionError>> {
    const alert = await this.alertFor(alertId, action);
    if (!alert.ok) return alert;
    const { next } = alert.value;
    const requested = await this.deps.commands.request({
      deviceId: alert.value.alert.deviceId,
      commandName,
      parameters,
      parentAlertId: alertId,
      correlationId: alert.value.alert.alertToken,
      ...(options.commandId === undefined ? {} : { commandId: options.commandId }),
    });
    if (!requested.ok) return requested;
    if (alert.value.alert.lastCommandId !== requested.value.commandId) {
      // The lifecycle decides the status: a command after a case keeps Case Created, a notification keeps the status.
      // The command stands either way; an alert deleted since it was read is answered as not found.
      const updated = await this.deps.crm.updateIoTAlert(alertId, { state: next.state, status: next.status, lastCommandId: requested.value.commandId });
      if (!updated.ok) return updated;
    }
    return requested;
  }

  /** The rules framework's notification: the device shows the message; the alert keeps its status (the lifecycle's `notified`). */
  async notify(alertId: string, message: string, options: SendCommandOptions = {}): Promise<Result<RequestedCommand, AlertActionError>> {
    return this.requestCommand(alertId, NOTIFICATION_COMMAND, { Message: message }, 'notified', options);
  }

  async createCase(
    alertId: string,
    details: { readonly title?: string; readonly description?: string } = {},
  ): Promise<Result<{ readonly caseId: string; readonly created: boolean }, AlertActionError>> {
    const existing = await this.deps.crm.getIoTAlert(alertId);
    // Idempotent: asking again for the case of an alert that has one answers that case.
    const alert =
      existing?.caseId !== undefined && existing.state !== AlertState.Closed
        ? ok({ alert: existing, next: phaseOf(existing) })
        : await this.alertFor(alertId, 'caseCreated');
    if (!alert.ok) return alert;
    const a = alert.value.alert;
    const next = alert.value.next;
    const result = await this.deps.crm.createCase({
      title: details.title ?? a.description,
      alertId,
      ...(a.customerAssetId === undefined ? {} : { customerAssetId: a.customerAssetId }),
      ...(details.description === undefined ? {} : { description: details.description }),
    });
    if (a.caseId !== result.caseId) {
      const updated = await this.deps.crm.updateIoTAlert(alertId, { state: next.state, status: next.status, caseId: result.caseId });
      if (!updated.ok) return updated;
    }
    this.deps.log.info(result.created ? 'case.created' : 'case.exists', { correlationId: a.alertToken, alertId, caseId: result.caseId });
    return ok(result);
  }

  async createWorkOrder(
    alertId: string,
    details: WorkOrderDetails = {},
  ): Promise<Result<{ readonly workOrderId: string; readonly created: boolean }, AlertActionError>> {
    const alert = await this.alertFor(alertId, 'workOrderCreated');
    if (!alert.ok) return alert;
    const a = alert.value.alert;
    const result = await this.deps.crm.createWorkOrder({
      alertId,
      summary: details.summary ?? a.description,
      ...(a.customerAssetId === undefined ? {} : { customerAssetId: a.customerAssetId }),
      ...(a.caseId === undefined ? {} : { caseId: a.caseId }),
      ...(details.incidentType === undefined ? {} : { incidentType: details.incidentType }),
      ...(details.priority === undefined ? {} : { priority: details.priority }),
    });
    this.deps.log.info(result.created ? 'work-order.created' : 'work-order.exists', { correlationId: a.alertToken, alertId, workOrderId: result.workOrderId });
    return ok(result);
  }

  /** Closes the alert; closing a closed alert changes nothing. */
  async close(alertId: string): Promise<Result<void, AlertActionError>> {
    const alert = await this.deps.crm.getIoTAlert(alertId);
    if (alert === undefined) return err({ code: 'AlertNotFound', message: `No IoT alert with id ${alertId}` });
    if (alert.state !== AlertState.Closed) {
      const next = applyAlertAction(phaseOf(alert), 'closed');
      if (!next.ok) return err({ code: next.error.code, message: `IoT alert ${alertId}: ${next.error.message}` });
      const updated = await this.deps.crm.updateIoTAlert(alertId, { state: next.value.state, status: next.value.status });
      if (!updated.ok) return updated;
    }
    this.deps.log.info('alert.closed', { correlationId: alert.alertToken, alertId });
    return ok(undefined);
  }

  /** The alert and the phase `action` leads it to (`applyAlertAction`), or the lifecycle's refusal with its reason. */
  private async alertFor(
    alertId: string,
    action: AlertAction,
  ): Promise<Result<{ readonly alert: StoredIoTAlert; readonly next: AlertPhase }, AlertActionError>> {
    const alert = await this.deps.crm.getIoTAlert(alertId);
    if (alert === undefined) return err({ code: 'AlertNotFound', message: `No IoT alert with id ${alertId}` });
    const next = applyAlertAction(phaseOf(alert), action);
    if (!next.ok) return err({ code: next.error.code, message: `IoT alert ${alertId}: ${next.error.message}` });
    return ok({ alert, next: next.value });
  }
}

export interface WorkOrderDetails {
  readonly summary?: string;
  /** The work order's primary incident type (`msdyn_primaryincidenttype`), by name. */
  readonly incidentType?: string;
  /** The work order's priority (`msdyn_priority`), by name. */
  readonly priority?: string;
}

/** The stored alert's (statecode, statuscode) as the domain's lifecycle sees it. */
const phaseOf = (alert: StoredIoTAlert): AlertPhase => ({ state: alert.state, status: alert.status }) as AlertPhase;
