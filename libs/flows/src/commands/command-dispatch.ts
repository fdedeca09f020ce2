// Flows 16–19 (commands): a requested command sent to its device (or to every connected one) through the hub.
import { describeIssues, type CommandState } from '@fieldlink/domain';
import type {
  CloudToDeviceError,
  CloudToDevicePort,
  CrmCommand,
  CrmCommandsPort,
  CrmDevicesPort,
  CrmSettingsPort,
  DeviceRegistryPort,
  LogPort,
} from '@fieldlink/ports';
import type { CommandCatalog } from './command-catalog.js';
import { broadcastMessageId } from './command-message-id.js';
import { commandStatusUpdate, writeReport } from './command-progress.js';

export interface CommandDispatchDeps {
  readonly crm: CrmCommandsPort & CrmDevicesPort & CrmSettingsPort;
  readonly cloudToDevice: CloudToDevicePort;
  /** The hub's registry: which devices are connected, for a command to all connected devices. */
  readonly registry: DeviceRegistryPort;
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
  /** The CRM holds no such command: none was read, or it was removed while being dispatched. */
  | { readonly kind: 'unknown-command' }
  /** The hub is throttling or the device's queue is full: try again later. */
  | { readonly kind: 'retry-later'; readonly reason: string };

/** `msdyn_commandstatusreason` holds 2,000 characters. */
const STATUS_REASON_MAX = 2_000;
/** Devices named in the status of a command to all connected devices; the rest are counted. */
const DEVICES_NAMED = 20;

const isTransient = (error: CloudToDeviceError): boolean => error.code === 'Throttled' || error.code === 'DeviceQueueFull';

type DeviceSend =
  { readonly deviceId: string; readonly result: 'sent' } | { readonly deviceId: string; readonly result: 'refused' | 'deferred'; readonly reason: string };

/**
 * Flows 16–19: a requested command is checked against its device type, sent to the device as a
 * cloud-to-device message (body = `msdyn_message` as UTF-8, message id = command id, so delivery
 * feedback finds it), and its status written back: Sent, or Error with the reason.
 *
 * A command with `msdyn_sendtoallconnecteddevices` goes to every device the hub's registry
 * reports connected (and enabled) at dispatch time, each checked against its own device type
 * and sent under its own message id (`broadcastMessageId`: command id + a digest of the device
 * id). Its status sums the sends up: Sent when at least one device got it, the reason naming how
 * many and each device that did not get it and why; Error when none did (or none is connected);
 * left requested (retry later) only when nothing was sent and every failure was the hub's
 * throttling or a full device queue, so a retry never sends anything twice. Later reports move
 * the command forward on the first device's success (see CommandFeedback, CommandAcknowledgements).
 *
 * Guarantees: the send comes before the status write, so a command recorded Sent has left. The
 * write is conditional on the `requested` state read at the start: feedback, the device's answer
 * or another dispatch that moved the command on meanwhile wins, and Sent is not written over it. A
 * command past `requested` is never sent again, which makes dispatch safe to repeat. Only a
 * failure between the send and the status write (a crash, the CRM unreachable) leaves it
 * requested after it left, and a repeat then sends it again under the same message id: that
 * duplicate is the device's to drop (the simulated thermostats remember the ids they handled),
 * and its delivery feedback changes nothing, since a command only moves forward.
 */
export class CommandDispatch {
  constructor(private readonly deps: CommandDispatchDeps) {}

  async dispatch(commandId: string, correlationId?: string): Promise<DispatchOutcome> {
    const { crm, log } = this.deps;
    const command = await crm.getCommand(commandId);
    if (command === undefined) return { kind: 'unknown-command' };
    if (command.state !== 'requested') return { kind: 'already-dispatched', state: command.state };
    const fields = { correlationId: correlationId ?? command.parentAlertId ?? commandId, commandId, deviceId: command.deviceId, commandName: command.name };
    if (command.sendToAllConnectedDevices === true) return this.dispatchToAllConnected(command, fields);

    const device = await crm.findDeviceByHubId(command.deviceId);
    const deviceType = device?.deviceType ?? this.deps.defaultDeviceType;
    // The organisation's command property names (msdyn_iotsettings) say where the name and parameters are.
    const checked = this.deps.catalog.check(deviceType, command.message, await crm.getIoTSettings());
    if (!checked.ok) return this.refuse(command, `Refused for device type ${deviceType}: ${describeIssues(checked.error)}`, fields);

    const sent = await this.send(command, command.deviceId, command.commandId, fields.correlationId);
    if (!sent.ok) {
      if (isTransient(sent.error)) {
        log.warn('command.send-deferred', { ...fields, code: sent.error.code, error: sent.error.message });
        return { kind: 'retry-later', reason: `${sent.error.code}: ${sent.error.message}` };
      }
      return this.refuse(command, `${sent.error.code}: ${sent.error.message}`, fields);
    }
    if (!(await this.markSent(command, 'Sent to the device', fields))) return { kind: 'unknown-command' };
    log.info('command.sent', fields);
    return { kind: 'sent', command };
  }

  /**
   * Sends every command still `requested`, oldest first, page by page: what a throttled hub or a
   * full device queue left behind, however many (CommandSweep does this on an interval, with the
   * timeouts).
   */
  async dispatchRequested(pageSize = 100): Promise<DispatchOutcome[]> {
    const outcomes: DispatchOutcome[] = [];
    for await (const page of this.deps.crm.commandsInState('requested', pageSize)) for (const c of page) outcomes.push(await this.dispatch(c.commandId));
    return outcomes;
  }

  private async dispatchToAllConnected(command: CrmCommand, fields: Record<string, unknown> & { readonly correlationId: string }): Promise<DispatchOutcome> {
    const { crm, registry, log } = this.deps;
    const connected = [...new Set(await registry.connectedDeviceIds())].sort();
    if (connected.length === 0) return this.refuse(command, 'Sent to no device: no device is connected to the hub', fields);

    // Each device is checked against its own type; a device the CRM does not know has the default type, as for one device.
    const typeOf = new Map((await crm.listDevices()).map((d) => [d.deviceId, d.deviceType]));
    const names = await crm.getIoTSettings();
    const sends: DeviceSend[] = [];
    for (const deviceId of connected) {
      const deviceType = typeOf.get(deviceId) ?? this.deps.defaultDeviceType;
      const checked = this.deps.catalog.check(deviceType, command.message, names);
      if (!checked.ok) {
        sends.push({ deviceId, result: 'refused', reason: `refused for device type ${deviceType}: ${describeIssues(checked.error)}` });
        continue;
      }
      const messageId = broadcastMessageId(command.commandId, deviceId);
      const sent = await this.send(command, deviceId, messageId, fields.correlationId);
      if (sent.ok) {
        sends.push({ deviceId, result: 'sent' });
        log.info('command.sent-to-device', { ...fields, deviceId, messageId });
      } else {
        sends.push({ deviceId, result: isTransient(sent.error) ? 'deferred' : 'refused', reason: `${sent.error.code}: ${sent.error.message}` });
        log.warn('command.device-not-sent', { ...fields, deviceId, messageId, code: sent.error.code, error: sent.error.message });
      }
    }

    const sentCount = sends.filter((s) => s.result === 'sent').length;
    const summary = broadcastSummary(sends, connected.length);
    if (sentCount === 0 && sends.every((s) => s.result === 'deferred')) {
      log.warn('command.send-deferred', { ...fields, devices: connected.length });
      return { kind: 'retry-later', reason: summary };
    }
    if (sentCount === 0) return this.refuse(command, summary, fields);
    if (!(await this.markSent(command, summary, fields))) return { kind: 'unknown-command' };
    log.info('command.sent', { ...fields, devices: sentCount, connected: connected.length });
    return { kind: 'sent', command };
  }

  private send(command: CrmCommand, deviceId: string, messageId: string, correlationId: string) {
    return this.deps.cloudToDevice.send({
      messageId,
      deviceId,
      body: new TextEncoder().encode(command.message),
      correlationId,
      ...(this.deps.ttlMs === undefined ? {} : { ttlMs: this.deps.ttlMs }),
    });
  }

  /** False when the command is no longer in the CRM (removed while it was being sent). */
  private async markSent(command: CrmCommand, reason: string, fields: Record<string, unknown>): Promise<boolean> {
    // Conditional on the `requested` read at the start: feedback, the device's answer or a second
    // dispatch may have moved the command on since, and a command never moves back.
    const written = await writeReport(this.deps.crm, command.commandId, command.state, { type: 'sent' }, reason);
    if (written.kind !== 'gone') return true;
    this.deps.log.warn('command.gone', { ...fields, reason: 'sent, but the command is no longer in the CRM' });
    return false;
  }

  private async refuse(command: CrmCommand, reason: string, fields: Record<string, unknown>): Promise<DispatchOutcome> {
    const written = await this.deps.crm.updateCommandStatus(command.commandId, commandStatusUpdate('failed', reason), { ifState: command.state });
    if (!written.ok) {
      if (written.error.code === 'CommandNotFound') {
        this.deps.log.warn('command.gone', { ...fields, reason });
        return { kind: 'unknown-command' };
      }
      // A second dispatch sent it meanwhile: its state stands.
      this.deps.log.warn('command.refusal-overtaken', { ...fields, reason, state: written.error.found });
      return { kind: 'already-dispatched', state: written.error.found };
    }
    this.deps.log.warn('command.refused', { ...fields, reason });
    return { kind: 'refused', reason };
  }
}

/** "Sent to 2 of 3 connected devices; not sent to thermostat-3 (DeviceQueueFull: …)", within the column's length. */
function broadcastSummary(sends: readonly DeviceSend[], connected: number): string {
  const sent = sends.filter((s) => s.result === 'sent').length;
  const head =
    sent === connected ? `Sent to all ${connected} connected device${connected === 1 ? '' : 's'}` : `Sent to ${sent} of ${connected} connected devices`;
  const failed = sends.filter((s): s is Extract<DeviceSend, { reason: string }> => s.result !== 'sent');
  if (failed.length === 0) return head;
  const named = failed.slice(0, DEVICES_NAMED).map((f) => `${f.deviceId} (${f.reason})`);
  const more = failed.length > DEVICES_NAMED ? ` and ${failed.length - DEVICES_NAMED} more` : '';
  const text = `${head}; not sent to ${named.join(', ')}${more}`;
  return text.length <= STATUS_REASON_MAX ? text : `${text.slice(0, STATUS_REASON_MAX - 1)}…`;
}
