// Flows 13–15 (outbound): the CRM's outbound-queue messages routed to commands, registration, twins, device data.
import { describeIssues } from '@fieldlink/domain';
import {
  decodeServiceEndpointMessage,
  outboundMessageKind,
  readOutboundCrmMessage,
  type CommandCreated,
  type CrmCommandsPort,
  type CrmDevicesPort,
  type DeviceRegistryPort,
  type DeviceUpdated,
  type LogPort,
  type OutboundCrmMessage,
  type ReceivedQueueMessage,
  type RemoteExecutionContext,
} from '@fieldlink/ports';
import type { CommandDispatch } from '../commands/command-dispatch.js';
import type { DeviceDataPull } from '../device-data/device-data-pull.js';
import type { DeviceRegistrations } from '../registration/device-registration.js';
import { settleFailures } from '../shared/failure-settlement.js';
import { abandon, complete, deadLetter, type Settlement } from '../shared/settlement.js';

export interface OutboundMessagesDeps {
  readonly crm: CrmCommandsPort & CrmDevicesPort;
  readonly registry: DeviceRegistryPort;
  readonly dispatch: CommandDispatch;
  readonly registrations: DeviceRegistrations;
  readonly dataPull: DeviceDataPull;
  readonly log: LogPort;
}

/**
 * Flows 13–19, what the CFS "CRM to IoT" Logic App does: each outbound-queue message is a
 * Dataverse RemoteExecutionContext in the service endpoint's Json (`application/json`) or Text
 * XML (`application/xml`) format, possibly base64 transfer-encoded, routed by message name
 * (compared case-insensitively) and entity:
 * - Create of `msdyn_iotdevicecommand` → checked against the device type, sent to the device
 *   (or, with `msdyn_sendtoallconnecteddevices`, to every connected device), status written back
 *   (Sent, or Error with the reason);
 * - `msdyn_RegisterIoTDevice` → the registry, then the registration results back onto the CRM devices;
 * - Update of `msdyn_iotdevice` → the twin (`msdyn_devicesettings` → desired properties, `msdyn_tags` → tags);
 * - `msdyn_PullDataForIoTDevice` → the twins → `msdyn_iotdevicedatahistory`.
 * A message that cannot be read, or that asks for something unsupported, is dead-lettered with
 * the issues; a transient failure abandons it; it completes only once its effects are stored.
 * Binary XML (`application/msbin1`, the endpoint's default) is dead-lettered with the setting to
 * change. When the endpoint stripped a context over 192 KB (`MessageMaxSizeExceeded`), the
 * command or device is re-read from the CRM by the kept PrimaryEntityId.
 */
export class OutboundMessages {
  constructor(private readonly deps: OutboundMessagesDeps) {}

  async handle(message: ReceivedQueueMessage): Promise<Settlement> {
    const decoded = decodeServiceEndpointMessage(message);
    if (!decoded.ok) return deadLetter(decoded.error.code, decoded.error.message);
    const ctx = decoded.value.context;
    const correlationId = ctx.correlationId;
    if (decoded.value.maxSizeExceeded) return settleFailures(() => this.stripped(ctx, message));
    const routed = readOutboundCrmMessage(ctx);
    if (!routed.ok) return deadLetter('UnsupportedOutboundMessage', describeIssues(routed.error));
    return settleFailures(() => this.route(routed.value, correlationId, message));
  }

  /** The endpoint removed the parameters and images: what the context is comes from its names, its data from the CRM. */
  private async stripped(ctx: RemoteExecutionContext, message: ReceivedQueueMessage): Promise<Settlement> {
    const kind = outboundMessageKind(ctx);
    const what = `${ctx.messageName} of ${ctx.primaryEntityName} ${ctx.primaryEntityId}`;
    this.deps.log.info('outbound.context-stripped', {
      correlationId: ctx.correlationId,
      messageName: ctx.messageName,
      entity: ctx.primaryEntityName,
      id: ctx.primaryEntityId,
    });
    switch (kind) {
      case 'command-created': {
        const command = await this.deps.crm.getCommand(ctx.primaryEntityId);
        if (command === undefined)
          return deadLetter('CommandNotFound', `The service endpoint stripped the ${what} (MessageMaxSizeExceeded) and the CRM has no such command to re-read`);
        const created: CommandCreated = {
          commandId: command.commandId,
          name: command.name,
          message: command.message,
          sendToAllConnectedDevices: command.sendToAllConnectedDevices === true,
          ...(command.deviceId === '' ? {} : { deviceId: command.deviceId }),
          ...(command.deviceRecordId === undefined ? {} : { deviceRecordId: command.deviceRecordId }),
          ...(command.customerAssetId === undefined ? {} : { customerAssetId: command.customerAssetId }),
          ...(command.parentAlertId === undefined ? {} : { parentAlertId: command.parentAlertId }),
          createdOn: command.createdOn,
        };
        return this.route({ kind, command: created }, ctx.correlationId, message);
      }
      case 'device-updated': {
        const device = await this.deps.crm.getDevice(ctx.primaryEntityId);
        if (device === undefined)
          return deadLetter('DeviceNotFound', `The service endpoint stripped the ${what} (MessageMaxSizeExceeded) and the CRM has no such device to re-read`);
        // Without the pre-image the removed keys are unknown: the whole tags and settings are written.
        const patch = {
          ...(device.tags === undefined ? {} : { tags: device.tags }),
          ...(device.settings === undefined ? {} : { desiredProperties: device.settings }),
        };
        return this.route({ kind, update: { deviceRecordId: device.deviceRecordId, deviceId: device.deviceId, patch } }, ctx.correlationId, message);
      }
      case 'register-devices':
      case 'pull-device-data':
        return deadLetter(
          'ContextStripped',
          `The service endpoint stripped the ${what} (MessageMaxSizeExceeded): the device lists are input parameters and no record holds them; call the action again with fewer devices`,
        );
      case undefined:
        return deadLetter(
          'UnsupportedOutboundMessage',
          `"${ctx.messageName}" of "${ctx.primaryEntityName}" is not an outbound message this orchestrator handles`,
        );
    }
  }

  private async route(m: OutboundCrmMessage, correlationId: string | undefined, message: ReceivedQueueMessage): Promise<Settlement> {
    switch (m.kind) {
      case 'command-created':
        return this.commandCreated(m.command, correlationId);
      case 'register-devices': {
        const registered =
          m.ambiguous !== undefined
            ? await this.deps.registrations.registerAmbiguous(m.ambiguous, correlationId)
            : await this.deps.registrations.register(m.devices, correlationId);
        // The others' results are written; a request naming records the CRM does not hold cannot succeed on a retry.
        return registered.ok ? complete : deadLetter(registered.error.code, registered.error.message);
      }
      case 'device-updated':
        return this.deviceUpdated(m.update, correlationId);
      case 'pull-device-data': {
        const devices = m.pull.devices.map((d) => d.deviceId);
        await this.deps.dataPull.pull(devices, m.pull.requestedOn ?? message.enqueuedTime, correlationId);
        return complete;
      }
    }
  }

  private async commandCreated(command: CommandCreated, correlationId: string | undefined): Promise<Settlement> {
    const { crm, log } = this.deps;
    let deviceId = command.deviceId;
    if (deviceId === undefined && command.deviceRecordId !== undefined) deviceId = (await crm.getDevice(command.deviceRecordId))?.deviceId;
    if (deviceId === undefined && !command.sendToAllConnectedDevices)
      return deadLetter(
        'DeviceNotFound',
        `Command ${command.commandId} names device record ${command.deviceRecordId ?? '(none)'}, which the CRM does not have`,
      );
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
