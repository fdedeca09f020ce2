import { APP_TOKENS, type FieldlinkRuntime } from '@fieldlink/composition';
import type { AlertActions, DeviceRegistrations, DeviceTypeCatalog } from '@fieldlink/flows';
import { TOKENS, type CrmGatewayPort, type StatusStorePort } from '@fieldlink/ports';
import type { ConsoleServerOptions } from '@fieldlink/ui-console';

/** What the console server needs, taken from a runtime that holds the orchestrator's and the stream processor's ports. */
export function consoleServicesOf(runtime: FieldlinkRuntime): Omit<ConsoleServerOptions, 'host' | 'port' | 'token'> {
  return {
    crm: runtime.get<CrmGatewayPort>(TOKENS.CrmGateway),
    statusStore: runtime.get<StatusStorePort>(TOKENS.StatusStore),
    alertActions: runtime.get<AlertActions>(APP_TOKENS.AlertActions),
    registrations: runtime.get<DeviceRegistrations>(APP_TOKENS.DeviceRegistrations),
    // The configured device types (built-in thermostat and the device type document's).
    deviceTypes: runtime.get<DeviceTypeCatalog>(APP_TOKENS.CommandCatalog).list(),
    defaultDeviceType: runtime.config.rules.defaultDeviceType,
    events: runtime.feed,
    log: runtime.feed,
  };
}
