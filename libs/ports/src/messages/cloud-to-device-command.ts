import { COMMAND_MESSAGE_MAX, err, ok, type CommandPayload, type Result, type ValidationIssue } from '@fieldlink/domain';
import { C2D_MAX_BYTES, type CloudToDeviceMessage } from '../cloud-to-device-port.js';
import { decodeCommandPayload } from './command-payload.js';

/** Application property naming the command, so a device can route without parsing the body. */
export const COMMAND_NAME_PROPERTY = 'commandName';

export interface CloudToDeviceCommand {
  /** The CRM command id: it becomes the message id, so the hub's feedback names the command. */
  readonly commandId: string;
  readonly deviceId: string;
  /** `msdyn_message`, sent as it is. */
  readonly message: string;
  readonly correlationId?: string;
  readonly ttlMs?: number;
}

/**
 * Flows 16–19: the cloud-to-device message of a command. The body is the `msdyn_message` text as
 * UTF-8, exactly as CFS sends it; the message id is the command id. Refuses a message that is not
 * a command payload or does not fit the hub's limit.
 */
export function encodeCloudToDeviceCommand(command: CloudToDeviceCommand): Result<CloudToDeviceMessage, ValidationIssue[]> {
  if (command.message.length > COMMAND_MESSAGE_MAX)
    return err([{ path: 'message', message: `is ${command.message.length} characters; msdyn_message holds at most ${COMMAND_MESSAGE_MAX}` }]);
  const payload = decodeCommandPayload(command.message);
  if (!payload.ok) return err(payload.error.map((i) => ({ path: i.path === 'body' ? 'message' : `message.${i.path}`, message: i.message })));
  const body = new TextEncoder().encode(command.message);
  if (body.byteLength > C2D_MAX_BYTES)
    return err([{ path: 'message', message: `is ${body.byteLength} bytes; a cloud-to-device message holds at most ${C2D_MAX_BYTES}` }]);
  return ok({
    messageId: command.commandId,
    deviceId: command.deviceId,
    body,
    ...(command.correlationId === undefined ? {} : { correlationId: command.correlationId }),
    ...(command.ttlMs === undefined ? {} : { ttlMs: command.ttlMs }),
    properties: { [COMMAND_NAME_PROPERTY]: payload.value.CommandName },
  });
}

/** The device's side: the command a received message carries. */
export const decodeCloudToDeviceCommand = (body: Uint8Array): Result<CommandPayload, ValidationIssue[]> => decodeCommandPayload(body);
