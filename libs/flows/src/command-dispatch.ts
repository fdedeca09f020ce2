import { describeIssues, type CommandState } from '@fieldlink/domain';
import type { CloudToDevicePort, CrmCommand, CrmGatewayPort, LogPort } from '@fieldlink/ports';
import type { CommandCatalog } from './command-catalog.js';
import { commandStatusUpdate, progressOf } from './command-progress.js';

export interface CommandDispatchDeps {
  readonly crm: CrmGatewayPort;
  readonly cloudToDevice: CloudToDevicePort;
  readonly catalog: CommandCatalog;
  readonly log: LogPort;
  /** The device type of a device the CRM does not know. */
  readonly defaultDeviceType: string;
  /** Time to live of the cloud-to-device message; the hub's default (1 h) when absent. */
  readonly ttlMs?: number;
}

export type DispatchOutcome =
  | { readonly kind: 'sent'; readonly command: CrmCommand }
  /** It left before (or failed before): nothing is sent twice. */
  | { readonly kind: 'already-dispatched'; readonly state: CommandState }
  /** Refused against its device type, or the hub refused it for good; the reason is on the command. */
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unknown-command' }
  /** The hub is throttling or the device's queue is full: try again later. */
  | { readonly kind: 'retry-later'; readonly reason: string };

/**
 * Flows 16–19: a requested command is checked against its device type, sent to the device as a
 * cloud-to-device message (body = `msdyn_message` as UTF-8, message id = command id, so delivery
 * feedback finds it), and its status written back: Sent, or Error with the reason. A command
 * that is past `requested` is never sent again, which makes dispatch safe to repeat; only a
 * failure between the send and the status write can send it twice, and the device sees the same
 * message id both times.
 */
export class CommandDispatch {
  constructor(private readonly deps: CommandDispatchDeps) {}

  async dispatch(commandId: string, correlationId?: string): Promise<DispatchOutcome> {
    const { crm, log } = this.deps;
    const command = await crm.getCommand(commandId);
    if (command === undefined) return { kind: 'unknown-command' };
    if (command.state !== 'requested') return { kind: 'already-dispatched', state: command.state };
    const fields = { correlationId: correlationId ?? command.parentAlertId ?? commandId, commandId, deviceId: command.deviceId, commandName: command.name };

    if (command.sendToAllConnectedDevices === true) return this.refuse(command, 'Sending one command to all connected devices is not supported; create one command per device', fields);
    const device = await crm.findDeviceByHubId(command.deviceId);
    const deviceType = device?.deviceType ?? this.deps.defaultDeviceType;
    const checked = this.deps.catalog.check(deviceType, command.message);
    if (!checked.ok) return this.refuse(command, `Refused for device type ${deviceType}: ${describeIssues(checked.error)}`, fields);

    const sent = await this.deps.cloudToDevice.send({
      messageId: command.commandId,
      deviceId: command.deviceId,
      body: new TextEncoder().encode(command.message),
      correlationId: fields.correlationId,
      ...(this.deps.ttlMs === undefined ? {} : { ttlMs: this.deps.ttlMs }),
    });
    if (!sent.ok) {
      if (sent.error.code === 'Throttled' || sent.error.code === 'DeviceQueueFull') {
        log.warn('command.send-deferred', { ...fields, code: sent.error.code, error: sent.error.message });
        return { kind: 'retry-later', reason: `${sent.error.code}: ${sent.error.message}` };
      }
      return this.refuse(command, `${sent.error.code}: ${sent.error.message}`, fields);
    }
    // Feedback or the device's answer may have overtaken this write; a command never moves back.
    const current = await crm.getCommand(command.commandId);
    if (current !== undefined && progressOf(current.state, { type: 'sent' }).kind === 'move') await crm.updateCommandStatus(command.commandId, commandStatusUpdate('sent', 'Sent to the device'));
    log.info('command.sent', fields);
    return { kind: 'sent', command };
  }

  /** Sends every command still `requested` (newest first, at most `top`): what a throttled hub left behind. */
  async dispatchRequested(top = 100): Promise<DispatchOutcome[]> {
    const pending = (await this.deps.crm.listCommands({ top })).filter((c) => c.state === 'requested');
    const outcomes: DispatchOutcome[] = [];
    for (const c of pending.reverse()) outcomes.push(await this.dispatch(c.commandId));
    return outcomes;
  }

  private async refuse(command: CrmCommand, reason: string, fields: Record<string, unknown>): Promise<DispatchOutcome> {
    await this.deps.crm.updateCommandStatus(command.commandId, commandStatusUpdate('failed', reason));
    this.deps.log.warn('command.refused', { ...fields, reason });
    return { kind: 'refused', reason };
  }
}
