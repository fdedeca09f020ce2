// Flows 16–19 (commands): the cloud-to-device message id of a command, and the command of a message id.
import { createHash } from 'node:crypto';
import type { CrmCommand, CrmCommandsPort } from '@fieldlink/ports';

/*
 * The cloud-to-device message id of a command. A command to one device leaves under its own id.
 * A command to all connected devices leaves once per device, each under
 * `<command id>#<16 hex digits of SHA-256 of the device id>`: distinct per device, the same on
 * every attempt (a repeat is recognisable as a duplicate), at most 36 + 17 characters for a GUID
 * command id (the hub allows 128), and only characters the hub allows in a message id. Delivery
 * feedback and the device's answer carry that id; `commandOfMessage` maps it back.
 */

const SEPARATOR = '#';
const DIGEST_HEX = 16;
const BROADCAST_ID = new RegExp(`^(.+)${SEPARATOR}([0-9a-f]{${DIGEST_HEX}})$`);

const deviceDigest = (deviceId: string): string => createHash('sha256').update(deviceId, 'utf8').digest('hex').slice(0, DIGEST_HEX);

/** The message id of a command sent to all connected devices, for one of them. */
export const broadcastMessageId = (commandId: string, deviceId: string): string => `${commandId}${SEPARATOR}${deviceDigest(deviceId)}`;

/** The message id under which `command` goes to `deviceId`. */
export const commandMessageId = (command: CrmCommand, deviceId: string): string =>
  command.sendToAllConnectedDevices === true ? broadcastMessageId(command.commandId, deviceId) : command.commandId;

export type CommandOfMessage =
  | { readonly kind: 'found'; readonly command: CrmCommand }
  /** No command of ours has this message id. */
  | { readonly kind: 'unknown' }
  /** The command exists but was not sent to this device under this id. */
  | { readonly kind: 'other-device'; readonly command: CrmCommand };

/** The command that a report (delivery feedback, a device's answer) about message `messageId` from `deviceId` is about. */
export async function commandOfMessage(crm: Pick<CrmCommandsPort, 'getCommand'>, messageId: string, deviceId: string): Promise<CommandOfMessage> {
  const broadcast = BROADCAST_ID.exec(messageId);
  if (broadcast !== null) {
    const command = await crm.getCommand(broadcast[1]!);
    if (command?.sendToAllConnectedDevices === true)
      return broadcastMessageId(command.commandId, deviceId) === messageId ? { kind: 'found', command } : { kind: 'other-device', command };
  }
  const command = await crm.getCommand(messageId);
  if (command === undefined) return { kind: 'unknown' };
  // A command to all devices never leaves under its bare id.
  return command.sendToAllConnectedDevices !== true && command.deviceId === deviceId ? { kind: 'found', command } : { kind: 'other-device', command };
}
