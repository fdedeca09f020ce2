import { APP_TOKENS, type FieldlinkConfig, type LocalStack } from '@fieldlink/composition';
import { TOKENS, type LogPort } from '@fieldlink/ports';
import { startConsoleServer } from '@fieldlink/ui-console';
import { startSimulatorServer } from '@fieldlink/ui-thermostat-simulator';

export interface WebServers {
  readonly addresses: { readonly simulator: string; readonly console: string };
  close(): Promise<void>;
}

/** The thermostat simulator page and the console, on 127.0.0.1 (any free port), over the running stack. */
export async function startWebServers(stack: LocalStack, config: FieldlinkConfig, log: LogPort): Promise<WebServers> {
  // A thermostat added on the page is put in the CRM and registered in the hub as the fleet's others are, or refused with the reason.
  const simulator = await startSimulatorServer({ fleet: stack.fleet, host: '127.0.0.1', port: 0, prepareDevice: (deviceId) => stack.registerDevice(deviceId) });
  const console = await startConsoleServer({
    crm: stack.get(TOKENS.CrmGateway),
    statusStore: stack.get(TOKENS.StatusStore),
    alertActions: stack.get(APP_TOKENS.AlertActions),
    registrations: stack.get(APP_TOKENS.DeviceRegistrations),
    // The configured device types (built-in thermostat and the device type document's).
    deviceTypes: stack.get(APP_TOKENS.CommandCatalog).list(),
    defaultDeviceType: config.rules.defaultDeviceType,
    events: stack.feed,
    host: '127.0.0.1',
    port: 0,
    log,
  });
  return {
    addresses: { simulator: simulator.url, console: console.url },
    close: async () => {
      await Promise.all([simulator.close(), console.close()]);
    },
  };
}
