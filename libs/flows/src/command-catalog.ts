import { COMMAND_MESSAGE_MAX, err, issue, validateCommand, validateCommandMessage, type CommandPayload, type DeviceTypeDefinition, type Result, type ValidationIssue } from '@fieldlink/domain';
import type { CrmIoTSettings } from '@fieldlink/ports';

/**
 * The commands each device type accepts. A command is checked against it before it leaves
 * (domain.md, "Commands"): an unknown name or a bad parameter is refused with the issues, never
 * sent.
 */
export interface CommandCatalog {
  /**
   * Reads a `msdyn_message` text and checks it against the device type's commands. `names` are
   * the organisation's command property names (`msdyn_iotsettings`); CFS's `CommandName` /
   * `Parameters` when not given.
   */
  check(deviceType: string, message: string, names?: CrmIoTSettings): Result<CommandPayload, readonly ValidationIssue[]>;
}

/** The catalog of the domain's device type definitions (e.g. `BUILT_IN_DEVICE_TYPES`). */
export function deviceTypeCommandCatalog(deviceTypes: readonly DeviceTypeDefinition[]): CommandCatalog {
  const byName = new Map(deviceTypes.map((t) => [t.name, t]));
  return {
    check(deviceType, message, names) {
      const type = byName.get(deviceType);
      if (type === undefined) return err([issue([], `device type "${deviceType}" is not known; known types: ${[...byName.keys()].join(', ')}`)]);
      if (names === undefined || (names.commandNameProperty === 'CommandName' && names.commandParametersProperty === 'Parameters')) return validateCommandMessage(type, message);
      return validateNamedCommand(type, message, names);
    },
  };
}

/** A command message whose name and parameters are under the organisation's own property names. */
function validateNamedCommand(type: DeviceTypeDefinition, message: string, names: CrmIoTSettings): Result<CommandPayload, readonly ValidationIssue[]> {
  if (message.length > COMMAND_MESSAGE_MAX) return err([issue([], `expected at most ${COMMAND_MESSAGE_MAX} characters (msdyn_message)`)]);
  let payload: unknown;
  try {
    payload = JSON.parse(message);
  } catch {
    return err([issue([], 'expected the command as JSON text')]);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return err([issue([], 'expected the command as a JSON object')]);
  const source = payload as Record<string, unknown>;
  const checked = validateCommand(type, { CommandName: source[names.commandNameProperty], Parameters: source[names.commandParametersProperty] });
  // Issues name the organisation's property names, which are what the message holds.
  if (!checked.ok) return err(checked.error.map((i) => ({ ...i, path: i.path.replace(/^CommandName/, names.commandNameProperty).replace(/^Parameters/, names.commandParametersProperty) })));
  return checked;
}
