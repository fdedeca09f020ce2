import { err, issue, validateCommandMessage, type CommandPayload, type DeviceTypeDefinition, type Result, type ValidationIssue } from '@fieldlink/domain';

/**
 * The commands each device type accepts. A command is checked against it before it leaves
 * (domain.md, "Commands"): an unknown name or a bad parameter is refused with the issues, never
 * sent.
 */
export interface CommandCatalog {
  /** Reads a `msdyn_message` text and checks it against the device type's commands. */
  check(deviceType: string, message: string): Result<CommandPayload, readonly ValidationIssue[]>;
}

/** The catalog of the domain's device type definitions (e.g. `BUILT_IN_DEVICE_TYPES`). */
export function deviceTypeCommandCatalog(deviceTypes: readonly DeviceTypeDefinition[]): CommandCatalog {
  const byName = new Map(deviceTypes.map((t) => [t.name, t]));
  return {
    check(deviceType, message) {
      const type = byName.get(deviceType);
      if (type === undefined) return err([issue([], `device type "${deviceType}" is not known; known types: ${[...byName.keys()].join(', ')}`)]);
      return validateCommandMessage(type, message);
    },
  };
}
