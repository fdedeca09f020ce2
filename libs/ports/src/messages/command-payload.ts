import { COMMAND_MESSAGE_MAX, err, ok, type CommandPayload, type Result, type ValidationIssue } from '@fieldlink/domain';
import { z } from 'zod';
import { decodeJsonBody } from '../codec/json-body.js';
import { toValidationIssues } from '../codec/zod-issues.js';

/**
 * A command payload as CFS writes it into `msdyn_iotdevicecommand.msdyn_message` and sends it to
 * the device (flows 12–19): `{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"30"}}}`.
 * Structure only: whether the device type knows the command and its parameters is the domain's
 * question. Other top-level fields are carried along.
 */
export const commandPayloadSchema = z.looseObject({
  CommandName: z.string().trim().min(1, 'expected a command name'),
  Parameters: z.record(z.string(), z.unknown(), 'expected an object of parameters'),
});

/** Reads a payload from `msdyn_message` text or a message body (UTF-8 JSON); never throws. */
export function decodeCommandPayload(message: Uint8Array | string): Result<CommandPayload, ValidationIssue[]> {
  // A cloud-to-device body is held to the msdyn_message limit too: it is that text, as UTF-8.
  const text = typeof message === 'string' ? message : utf8Text(message);
  if (text === undefined) return err([{ path: 'body', message: 'is not valid UTF-8' }]);
  if (text.length > COMMAND_MESSAGE_MAX) {
    return err([{ path: 'body', message: `is ${text.length} characters; msdyn_message holds at most ${COMMAND_MESSAGE_MAX}` }]);
  }
  const json = decodeJsonBody(text);
  if (!json.ok) return json;
  // JSON may name a key `__proto__`; an object built from it would drop that key without a word
  // (or change its prototype), so such a payload is refused, naming where the key stands.
  const protoAt = protoKeyPath(json.value);
  if (protoAt !== undefined) return err([{ path: protoAt, message: 'has the key "__proto__", which a payload may not use' }]);
  const parsed = commandPayloadSchema.safeParse(json.value);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  return ok(parsed.data);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Where the payload or its parameters have an own `__proto__` key, if they do. */
function protoKeyPath(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  if (Object.hasOwn(value, '__proto__')) return '__proto__';
  const parameters = value['Parameters'];
  return isObject(parameters) && Object.hasOwn(parameters, '__proto__') ? 'Parameters.__proto__' : undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The `msdyn_message` text of a payload. */
export const encodeCommandPayload = (payload: CommandPayload): string => JSON.stringify(payload);
