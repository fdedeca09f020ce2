import { describeIssues } from '@fieldlink/domain';
import { decodeRemoteExecutionContext, readOutboundCrmMessage, type CommandCreated, type CrmGatewayPort, type DeviceUpdated, type DeviceRegistryPort, type LogPort, type ReceivedQueueMessage } from '@fieldlink/ports';
import type { CommandDispatch } from './command-dispatch.js';
import type { DeviceDataPull } from './device-data-pull.js';
import type { DeviceRegistrations } from './device-registration.js';
import { settleFailures } from './failure-settlement.js';
import { abandon, complete, deadLetter, type Settlement } from './settlement.js';

export interface OutboundMessagesDeps {
  readonly crm: CrmGatewayPort;
  readonly registry: DeviceRegistryPort;
  readonly dispatch: CommandDispatch;
  readonly registrations: DeviceRegistrations;
  readonly dataPull: DeviceDataPull;
  readonly log: LogPort;
}

/**
 * Flows 13–19, what the CFS "send to IoT hub" Logic App does: each outbound-queue message is a
 * Dataverse RemoteExecutionContext (JSON), routed by message and entity:
 * - Create of `msdyn_iotdevicecommand` → checked against the device type, sent to the device
 *   (or, with `msdyn_sendtoallconnecteddevices`, to every connected device), status written back
 *   (Sent, or Error with the reason);
 * - `msdyn_RegisterIoTDevice` → the registry, then the registration results back onto the CRM devices;
 * - Update of `msdyn_iotdevice` → the twin (`msdyn_devicesettings` → desired properties, `msdyn_tags` → tags);
 * - `msdyn_PullDataForIoTDevice` → the twins → `msdyn_iotdevicedatahistory`.
 * A message that cannot be read, or that asks for something unsupported, is dead-lettered with
 * the issues; a transient failure abandons it; it completes only once its effects are stored.
 */
export class OutboundMessages {
  constructor(private readonly deps: OutboundMessagesDeps) {}

  async handle(message: ReceivedQueueMessage): Promise<Settlement> {
    const ctx = decodeRemoteExecutionContext(message.body);
    if (!ctx.ok) return deadLetter('InvalidRemoteExecutionContext', describeIssues(ctx.error));
    const routed = readOutboundCrmMessage(ctx.value);
    if (!routed.ok) return deadLetter('UnsupportedOutboundMessage', describeIssues(routed.error));
    const correlationId = ctx.value.correlationId;
    const m = routed.value;
    return settleFailures(async () => {
      switch (m.kind) {
        case 'command-created':
          return this.commandCreated(m.command, correlationId);
        case 'register-devices':
          await this.deps.registrations.register(m.devices, correlationId);
          return complete;
        case 'device-updated':
          return this.deviceUpdated(m.update, correlationId);
        case 'pull-device-data': {
          const devices = m.pull.devices.map((d) => d.deviceId);
          await this.deps.dataPull.pull(devices, m.pull.requestedOn ?? message.enqueuedTime, correlationId);
          return complete;
        }
      }
    });
  }

  private async commandCreated(command: CommandCreated, correlationId: string | undefined): Promise<Settlement> {
    const { crm, log } = this.deps;
    let deviceId = command.deviceId;
    if (deviceId === undefined && command.deviceRecordId !== undefined) deviceId = (await crm.getDevice(command.deviceRecordId))?.deviceId;
    if (deviceId === undefined && !command.sendToAllConnectedDevices) return deadLetter('DeviceNotFound', `Command ${command.commandId} names device record ${command.deviceRecordId ?? '(none)'}, which the CRM does not have`);
    // The record exists in Dataverse already; creating it under its own id is a no-op there and makes it known to a CRM that mirrors.
    await crm.createCommand({
      commandId: command.commandId,
      name: command.name,
      message: command.message,
      deviceId: deviceId ?? '',
      ...(command.deviceRecordId === undefined ? {} : { deviceRecordId: command.deviceRecordId }),
      ...(command.customerAssetId === undefined ? {} : { customerAssetId: command.customerAssetId }),
      ...(command.parentAlertId === undefined ? {} : { parentAlertId: command.parentAlertId }),
      sendToAllConnectedDevices: command.sendToAllConnectedDevices,
    });
    // A command that answers an alert carries the alert's id as its correlation (as its feedback and answers do), not
    // the CRM's id of the Create request, so the reading → alert → command → device chain keeps one id in both CRM modes.
    const chain = command.parentAlertId ?? correlationId;
    const outcome = await this.deps.dispatch.dispatch(command.commandId, chain);
    switch (outcome.kind) {
      case 'retry-later':
        return abandon(outcome.reason);
      case 'unknown-command':
        return deadLetter('CommandNotFound', `Command ${command.commandId} is not in the CRM`);
      case 'already-dispatched':
        log.info('command.already-dispatched', { correlationId: chain, commandId: command.commandId, state: outcome.state });
        return complete;
      case 'sent':
      case 'refused':
        return complete;
    }
  }

  private async deviceUpdated(update: DeviceUpdated, correlationId: string | undefined): Promise<Settlement> {
    if (update.patch.tags === undefined && update.patch.desiredProperties === undefined) {
      this.deps.log.info('twin.nothing-to-update', { correlationId, deviceId: update.deviceId });
      return complete;
    }
    const twin = await this.deps.registry.updateTwin(update.deviceId, update.patch);
    this.deps.log.info('twin.updated', { correlationId, deviceId: update.deviceId, version: twin.version });
    return complete;
  }
}
