import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

/**
 * The three commands a CFS thermostat answers (flows.md, "Command payloads"), as the device reads
 * them from the cloud-to-device body `{"CommandName": ..., "Parameters": {...}}`.
 */
export type ThermostatCommand =
  | { readonly name: 'Reset Thermostat' }
  | { readonly name: 'Notification'; readonly message: string }
  | { readonly name: 'Set Values'; readonly temperature?: number; readonly humidity?: number };

export const THERMOSTAT_COMMAND_NAMES = ['Reset Thermostat', 'Notification', 'Set Values'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** CFS sends numbers as strings ("30"); a JSON number is accepted too. Empty or non-numeric text is refused. */
function readNumber(value: unknown, path: readonly string[]): Result<number | undefined, ValidationIssue> {
  if (value === undefined || value === null) return ok(undefined);
  if (typeof value === 'number' && Number.isFinite(value)) return ok(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return ok(Number(value));
  return err(issue(path, `expected a number (as text, e.g. "30"), got ${JSON.stringify(value)}`));
}

/** `Parameters.Message: expected a non-empty string`: the reason a rejected command carries. */
export const describeIssue = (i: ValidationIssue): string => `${i.path}: ${i.message}`;

/** Reads a command body; an unreadable or unknown command is an issue naming what was wrong. */
export function parseThermostatCommand(body: Uint8Array | string): Result<ThermostatCommand, ValidationIssue> {
  let text: string;
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return err(issue(['body'], 'is not valid UTF-8'));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err(issue(['body'], 'is not JSON'));
  }
  if (!isRecord(json)) return err(issue([], 'expected an object with CommandName and Parameters'));
  const name = json['CommandName'];
  const parameters = json['Parameters'] ?? {};
  if (typeof name !== 'string') return err(issue(['CommandName'], 'expected a string'));
  if (!isRecord(parameters)) return err(issue(['Parameters'], 'expected an object'));
  switch (name) {
    case 'Reset Thermostat':
      return ok({ name });
    case 'Notification': {
      const message = parameters['Message'];
      if (typeof message !== 'string' || message.trim() === '') return err(issue(['Parameters', 'Message'], 'expected a non-empty string'));
      return ok({ name, message });
    }
    case 'Set Values': {
      const reading = parameters['Reading'];
      if (!isRecord(reading)) return err(issue(['Parameters', 'Reading'], 'expected an object with Temperature and/or Humidity'));
      const temperature = readNumber(reading['Temperature'], ['Parameters', 'Reading', 'Temperature']);
      if (!temperature.ok) return temperature;
      const humidity = readNumber(reading['Humidity'], ['Parameters', 'Reading', 'Humidity']);
      if (!humidity.ok) return humidity;
      if (temperature.value === undefined && humidity.value === undefined) return err(issue(['Parameters', 'Reading'], 'expected Temperature and/or Humidity'));
      if (humidity.value !== undefined && (humidity.value < 0 || humidity.value > 100))
        return err(issue(['Parameters', 'Reading', 'Humidity'], 'expected a percentage from 0 to 100'));
      return ok({
        name,
        ...(temperature.value === undefined ? {} : { temperature: temperature.value }),
        ...(humidity.value === undefined ? {} : { humidity: humidity.value }),
      });
    }
    default:
      return err(issue(['CommandName'], `"${name}" is not a thermostat command (expected one of ${THERMOSTAT_COMMAND_NAMES.join(', ')})`));
  }
}
