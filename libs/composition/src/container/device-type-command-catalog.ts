import { err, ok, THERMOSTAT, type CommandPayload, type Result, type ValidationIssue } from '@fieldlink/domain';
import type { CommandCatalog } from '@fieldlink/flows';
import { parseThermostatCommand } from '@fieldlink/ui-thermostat-simulator';

/**
 * The commands each device type accepts, checked before a command leaves. The thermostat's are
 * the three CFS documents (Reset Thermostat, Notification, Set Values with numbers as text);
 * a device type with no catalog entry accepts no command.
 */
export const deviceTypeCommandCatalog: CommandCatalog = {
  check(deviceType: string, message: string): Result<CommandPayload, readonly ValidationIssue[]> {
    if (deviceType !== THERMOSTAT.name) return err([{ path: '(root)', message: `device type "${deviceType}" has no commands` }]);
    const parsed = parseThermostatCommand(message);
    if (!parsed.ok) {
      const at = parsed.error.indexOf(': ');
      return err([{ path: at > 0 ? parsed.error.slice(0, at) : '(root)', message: at > 0 ? parsed.error.slice(at + 2) : parsed.error }]);
    }
    return ok(JSON.parse(message) as CommandPayload);
  },
};
