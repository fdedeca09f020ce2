import type { CommandSpec, DeviceTypeDefinition, ParameterSpec } from '../devices/device-type-definition.js';
import { err, ok, type Result } from '../shared/result.js';
import { issue, type ValidationIssue } from '../shared/validation-issue.js';
import { COMMAND_MESSAGE_MAX, type CommandPayload } from './command-values.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const NUMERIC = /^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

function checkValue(spec: ParameterSpec, value: unknown, path: Array<string | number>, issues: ValidationIssue[]): void {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') issues.push(issue(path, 'expected a string'));
      else if (spec.maxLength !== undefined && value.length > spec.maxLength) issues.push(issue(path, `expected at most ${spec.maxLength} characters`));
      return;
    case 'boolean':
      if (typeof value !== 'boolean') issues.push(issue(path, 'expected true or false'));
      return;
    case 'number':
    case 'numericString': {
      const n =
        spec.type === 'number'
          ? typeof value === 'number'
            ? value
            : Number.NaN
          : typeof value === 'string' && NUMERIC.test(value)
            ? Number(value)
            : Number.NaN;
      if (!Number.isFinite(n)) issues.push(issue(path, spec.type === 'number' ? 'expected a number' : 'expected a number written as a string, e.g. "30"'));
      else if (spec.min !== undefined && n < spec.min) issues.push(issue(path, `expected at least ${spec.min}`));
      else if (spec.max !== undefined && n > spec.max) issues.push(issue(path, `expected at most ${spec.max}`));
      return;
    }
    case 'object':
      checkFields(spec.fields, spec.optional ?? [], value, path, issues);
      if (spec.atLeastOne === true && isRecord(value) && Object.keys(value).length === 0)
        issues.push(issue(path, `expected at least one of ${Object.keys(spec.fields).join(', ')}`));
      return;
  }
}

function checkFields(
  fields: Readonly<Record<string, ParameterSpec>>,
  optional: readonly string[],
  value: unknown,
  path: Array<string | number>,
  issues: ValidationIssue[],
): void {
  if (!isRecord(value)) {
    issues.push(issue(path, 'expected an object'));
    return;
  }
  for (const key of Object.keys(value))
    if (!(key in fields)) issues.push(issue([...path, key], `not a parameter here; expected ${Object.keys(fields).join(', ') || 'none'}`));
  for (const [key, spec] of Object.entries(fields)) {
    if (value[key] === undefined) {
      if (!optional.includes(key)) issues.push(issue([...path, key], 'required'));
      continue;
    }
    checkValue(spec, value[key], [...path, key], issues);
  }
}

/**
 * Checks a command payload against its device type before it leaves: an unknown command name or
 * a bad parameter is refused with the path and the reason. Never throws, whatever JSON it gets.
 */
export function validateCommand(deviceType: DeviceTypeDefinition, payload: unknown): Result<CommandPayload, ValidationIssue[]> {
  if (!isRecord(payload)) return err([issue([], 'expected a command {"CommandName": ..., "Parameters": {...}}')]);
  const name = payload['CommandName'];
  if (typeof name !== 'string') return err([issue(['CommandName'], 'expected a string')]);
  const command: CommandSpec | undefined = deviceType.commands.find((c) => c.name === name);
  if (command === undefined)
    return err([
      issue(['CommandName'], `"${name}" is not a command of ${deviceType.name}; expected one of ${deviceType.commands.map((c) => `"${c.name}"`).join(', ')}`),
    ]);
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(payload)) if (key !== 'CommandName' && key !== 'Parameters') issues.push(issue([key], 'not a field of a command'));
  checkFields(command.parameters, command.optional ?? [], payload['Parameters'] ?? {}, ['Parameters'], issues);
  return issues.length > 0 ? err(issues) : ok({ CommandName: name, Parameters: (payload['Parameters'] ?? {}) as Record<string, unknown> });
}

/** Where a command message holds its name and parameters (the organisation's `msdyn_iotsettings`). */
export interface CommandPropertyNames {
  readonly commandNameProperty: string;
  readonly commandParametersProperty: string;
}

/**
 * The same for the `msdyn_message` text as CFS stores it: the name and parameters under `names`,
 * CFS's `CommandName` / `Parameters` when not given; issues name the properties the message holds.
 */
export function validateCommandMessage(
  deviceType: DeviceTypeDefinition,
  message: string,
  names?: CommandPropertyNames,
): Result<CommandPayload, ValidationIssue[]> {
  if (message.length > COMMAND_MESSAGE_MAX) return err([issue([], `expected at most ${COMMAND_MESSAGE_MAX} characters (msdyn_message)`)]);
  let payload: unknown;
  try {
    payload = JSON.parse(message);
  } catch {
    return err([issue([], 'expected the command as JSON text')]);
  }
  if (names === undefined || (names.commandNameProperty === 'CommandName' && names.commandParametersProperty === 'Parameters'))
    return validateCommand(deviceType, payload);
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return err([issue([], 'expected the command as a JSON object')]);
  const source = payload as Record<string, unknown>;
  const checked = validateCommand(deviceType, { CommandName: source[names.commandNameProperty], Parameters: source[names.commandParametersProperty] });
  if (!checked.ok)
    return err(
      checked.error.map((i) => ({
        ...i,
        path: i.path.replace(/^CommandName/, names.commandNameProperty).replace(/^Parameters/, names.commandParametersProperty),
      })),
    );
  return checked;
}
