import { AlertState, AlertStatus, err, ok, type Result } from '@fieldlink/domain';
import type { CrmGatewayPort, LogPort, StoredIoTAlert } from '@fieldlink/ports';
import type { CommandRequestError, CommandRequests, RequestedCommand } from './command-requests.js';

export interface AlertActionsDeps {
  readonly crm: CrmGatewayPort;
  readonly commands: CommandRequests;
  readonly log: LogPort;
}

export type AlertActionError = { readonly code: 'AlertNotFound'; readonly message: string } | { readonly code: 'AlertClosed'; readonly message: string } | CommandRequestError;

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

  async sendCommand(alertId: string, commandName: string, parameters: Readonly<Record<string, unknown>>, options: SendCommandOptions = {}): Promise<Result<RequestedCommand, AlertActionError>> {
    const alert = await this.openAlert(alertId);
    if (!alert.ok) return alert;
    const requested = await this.deps.commands.request({
      deviceId: alert.value.deviceId,
      commandName,
      parameters,
      parentAlertId: alertId,
      correlationId: alert.value.alertToken,
      ...(options.commandId === undefined ? {} : { commandId: options.commandId }),
    });
    if (!requested.ok) return requested;
    if (alert.value.lastCommandId !== requested.value.commandId) {
      await this.deps.crm.updateIoTAlert(alertId, { state: AlertState.InProgress, status: AlertStatus.InProgressCommandSent, lastCommandId: requested.value.commandId });
    }
    return requested;
  }

  async notify(alertId: string, message: string, options: SendCommandOptions = {}): Promise<Result<RequestedCommand, AlertActionError>> {
    return this.sendCommand(alertId, NOTIFICATION_COMMAND, { Message: message }, options);
  }

  async createCase(alertId: string, details: { readonly title?: string; readonly description?: string } = {}): Promise<Result<{ readonly caseId: string; readonly created: boolean }, AlertActionError>> {
    const alert = await this.openAlert(alertId);
    if (!alert.ok) return alert;
    const a = alert.value;
    const result = await this.deps.crm.createCase({
      title: details.title ?? a.description,
      alertId,
      ...(a.customerAssetId === undefined ? {} : { customerAssetId: a.customerAssetId }),
      ...(details.description === undefined ? {} : { description: details.description }),
    });
    if (a.caseId !== result.caseId) {
      await this.deps.crm.updateIoTAlert(alertId, { state: AlertState.InProgress, status: AlertStatus.InProgressCaseCreated, caseId: result.caseId });
    }
    this.deps.log.info(result.created ? 'case.created' : 'case.exists', { correlationId: a.alertToken, alertId, caseId: result.caseId });
    return ok(result);
  }

  async createWorkOrder(alertId: string, details: { readonly summary?: string } = {}): Promise<Result<{ readonly workOrderId: string; readonly created: boolean }, AlertActionError>> {
    const alert = await this.openAlert(alertId);
    if (!alert.ok) return alert;
    const a = alert.value;
    const result = await this.deps.crm.createWorkOrder({
      alertId,
      summary: details.summary ?? a.description,
      ...(a.customerAssetId === undefined ? {} : { customerAssetId: a.customerAssetId }),
      ...(a.caseId === undefined ? {} : { caseId: a.caseId }),
    });
    this.deps.log.info(result.created ? 'work-order.created' : 'work-order.exists', { correlationId: a.alertToken, alertId, workOrderId: result.workOrderId });
    return ok(result);
  }

  /** Closes the alert; closing a closed alert changes nothing. */
  async close(alertId: string): Promise<Result<void, AlertActionError>> {
    const alert = await this.deps.crm.getIoTAlert(alertId);
    if (alert === undefined) return err({ code: 'AlertNotFound', message: `No IoT alert with id ${alertId}` });
    if (alert.state !== AlertState.Closed) await this.deps.crm.updateIoTAlert(alertId, { state: AlertState.Closed, status: AlertStatus.Closed });
    this.deps.log.info('alert.closed', { correlationId: alert.alertToken, alertId });
    return ok(undefined);
  }

  private async openAlert(alertId: string): Promise<Result<StoredIoTAlert, AlertActionError>> {
    const alert = await this.deps.crm.getIoTAlert(alertId);
    if (alert === undefined) return err({ code: 'AlertNotFound', message: `No IoT alert with id ${alertId}` });
    if (alert.state === AlertState.Closed) return err({ code: 'AlertClosed', message: `IoT alert ${alertId} is closed` });
    return ok(alert);
  }
}
