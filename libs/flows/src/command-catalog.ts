import type { CommandPayload, Result, ValidationIssue } from '@fieldlink/domain';

/**
 * The commands each device type accepts. A command is checked against it before it leaves
 * (domain.md, "Commands"): an unknown name or a bad parameter is refused with the issues, never
 * sent. The composition root builds it from the domain's device types.
 */
export interface CommandCatalog {
  /** Reads a `msdyn_message` text and checks it against the device type's commands. */
  check(deviceType: string, message: string): Result<CommandPayload, readonly ValidationIssue[]>;
}
