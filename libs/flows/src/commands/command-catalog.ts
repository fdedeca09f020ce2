// Flows 12, 16–19 (commands): the commands each device type accepts, checked before a command leaves.
import { err, issue, validateCommandMessage, type CommandPayload, type DeviceTypeDefinition, type Result, type ValidationIssue } from '@fieldlink/domain';
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

/**
 * Where device types come from: the configuration's device type document (with the built-in
 * thermostat), and later the CRM's own device categories with their property and command
 * definitions. A source hands a snapshot; a source that reads a service loads it, then puts its
 * snapshot in with `DeviceTypeCatalog.use`, again whenever it reloads.
 */
export interface DeviceTypeSource {
  /** Names the source in messages, e.g. `configuration` or `crm`. */
  readonly name: string;
  readonly deviceTypes: readonly DeviceTypeDefinition[];
}

/**
 * The device types a process knows, from one or more sources: a later source's type of the same
 * name wins over an earlier one's (the CRM's categories over the configuration's). It is the
 * command catalog the flows check commands against, and what the console's forms and the
 * automation document are checked against.
 */
export class DeviceTypeCatalog implements CommandCatalog {
  private readonly sources: DeviceTypeSource[] = [];
  private byName = new Map<string, { readonly type: DeviceTypeDefinition; readonly source: string }>();

  constructor(sources: readonly DeviceTypeSource[] = []) {
    for (const s of sources) this.use(s);
  }

  /** Adds a source, or replaces the snapshot of the source of the same name. */
  use(source: DeviceTypeSource): void {
    const at = this.sources.findIndex((s) => s.name === source.name);
    if (at >= 0) this.sources[at] = source;
    else this.sources.push(source);
    const byName = new Map<string, { readonly type: DeviceTypeDefinition; readonly source: string }>();
    for (const s of this.sources) for (const type of s.deviceTypes) byName.set(type.name, { type, source: s.name });
    this.byName = byName;
  }

  get(name: string): DeviceTypeDefinition | undefined {
    return this.byName.get(name)?.type;
  }

  /** Which source the type comes from, for messages. */
  sourceOf(name: string): string | undefined {
    return this.byName.get(name)?.source;
  }

  list(): DeviceTypeDefinition[] {
    return [...this.byName.values()].map((e) => e.type);
  }

  check(deviceType: string, message: string, names?: CrmIoTSettings): Result<CommandPayload, readonly ValidationIssue[]> {
    const type = this.get(deviceType);
    if (type === undefined) return err([issue([], `device type "${deviceType}" is not known; known types: ${[...this.byName.keys()].join(', ')}`)]);
    return validateCommandMessage(type, message, names);
  }
}

/** The catalog of fixed device type definitions (e.g. `BUILT_IN_DEVICE_TYPES`). */
export function deviceTypeCommandCatalog(deviceTypes: readonly DeviceTypeDefinition[]): DeviceTypeCatalog {
  return new DeviceTypeCatalog([{ name: 'built-in', deviceTypes }]);
}
