// Flow 12 (commands): a command record created for a device, checked against its device type.
import { COMMAND_MESSAGE_MAX, err, ok, type CodedError, type Result, type ValidationIssue } from '@fieldlink/domain';
import type { CrmCommandsPort, CrmDevicesPort, LogPort } from '@fieldlink/ports';
import type { CommandCatalog } from './command-catalog.js';
import type { CommandDispatch, DispatchOutcome } from './command-dispatch.js';

export interface CommandRequestsDeps {
  readonly crm: CrmCommandsPort & CrmDevicesPort;
  readonly catalog: CommandCatalog;
  readonly log: LogPort;
  /** The device type of a device the CRM does not know. */
  readonly defaultDeviceType: string;
  /**
   * Sends a new command at once. Leave it out when the CRM itself announces new commands on the
   * outbound queue (a Dataverse service endpoint), so the outbound flow sends them.
   */
  readonly dispatch?: CommandDispatch;
}

export interface CommandRequest {
  readonly deviceId: string;
  readonly commandName: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Makes the request idempotent: the same id never makes a second command. */
  readonly commandId?: string;
  readonly parentAlertId?: string;
  readonly correlationId?: string;
}

export type CommandRequestError = (CodedError<'InvalidCommand'> & { readonly issues: readonly ValidationIssue[] }) | CodedError<'MessageTooLong'>;

export interface RequestedCommand {
  readonly commandId: string;
  readonly created: boolean;
  readonly dispatch?: DispatchOutcome;
}

/**
 * Flow 12, and the console's "send a command": a command chosen from the device type's commands,
 * checked with its parameters before anything is stored, recorded as `msdyn_iotdevicecommand`
 * (with the device record, its customer asset and the alert it answers), then dispatched.
 */
export class CommandRequests {
  constructor(private readonly deps: CommandRequestsDeps) {}

  async request(req: CommandRequest): Promise<Result<RequestedCommand, CommandRequestError>> {
    const { crm, log } = this.deps;
    const device = await crm.findDeviceByHubId(req.deviceId);
    const deviceType = device?.deviceType ?? this.deps.defaultDeviceType;
    const message = JSON.stringify({ CommandName: req.commandName, Parameters: req.parameters });
    if (message.length > COMMAND_MESSAGE_MAX)
      return err({
        code: 'MessageTooLong',
        message: `The command message is ${message.length} characters; msdyn_message holds at most ${COMMAND_MESSAGE_MAX}`,
      });
    const checked = this.deps.catalog.check(deviceType, message);
    if (!checked.ok) {
      return err({
        code: 'InvalidCommand',
        message: `"${req.commandName}" is not a valid ${deviceType} command: ${checked.error.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        issues: checked.error,
      });
    }
    const created = await crm.createCommand({
      ...(req.commandId === undefined ? {} : { commandId: req.commandId }),
      name: req.commandName,
      message,
      deviceId: req.deviceId,
      ...(device === undefined ? {} : { deviceRecordId: device.deviceRecordId }),
      ...(device?.customerAssetId === undefined ? {} : { customerAssetId: device.customerAssetId }),
      ...(req.parentAlertId === undefined ? {} : { parentAlertId: req.parentAlertId }),
    });
    log.info(created.created ? 'command.requested' : 'command.exists', {
      correlationId: req.correlationId ?? created.commandId,
      commandId: created.commandId,
      deviceId: req.deviceId,
      commandName: req.commandName,
    });
    if (this.deps.dispatch === undefined) return ok(created);
    // A throttled hub leaves the command requested: `CommandDispatch.dispatchRequested` or a retry of the caller sends it.
    return ok({ ...created, dispatch: await this.deps.dispatch.dispatch(created.commandId, req.correlationId) });
  }
}
