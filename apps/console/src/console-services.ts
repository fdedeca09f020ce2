import { APP_TOKENS, assemble, resolveToken, type ConfigIssue, type FieldlinkConfig, type FieldlinkRuntime, type RuntimeOptions } from '@fieldlink/composition';
import { err, ok, RegistrationStatus, type Result } from '@fieldlink/domain';
import type { DeviceRegistrations } from '@fieldlink/flows';
import { TOKENS, type CrmGatewayPort } from '@fieldlink/ports';
import type { ConsoleServerOptions } from '@fieldlink/ui-console';
import { SharedStateFeed } from './shared-state-feed.js';

type ConsoleServices = Omit<ConsoleServerOptions, 'host' | 'port' | 'token'>;

/** What the console server needs, taken from a runtime that holds the orchestrator's and the stream processor's ports (one process: `fieldlink up`). */
export function consoleServicesOf(runtime: FieldlinkRuntime): ConsoleServices {
  return {
    crm: runtime.get(TOKENS.CrmGateway),
    statusStore: runtime.get(TOKENS.StatusStore),
    alertActions: runtime.get(APP_TOKENS.AlertActions),
    registrations: runtime.get(APP_TOKENS.DeviceRegistrations),
    // The configured device types (built-in thermostat and the device type document's).
    deviceTypes: runtime.get(APP_TOKENS.CommandCatalog).list(),
    defaultDeviceType: runtime.config.rules.defaultDeviceType,
    events: runtime.feed,
    log: runtime.feed,
  };
}

export interface StandaloneConsole {
  readonly services: ConsoleServices;
  /** True when the CRM and the status store are both in this process's memory: the console sees no other process. */
  readonly sharesNothing: boolean;
  close(): Promise<void>;
}

/** A CRM whose side starts registration itself (a Dataverse organisation's `msdyn_RegisterIoTDevice` action, announced on its service endpoint). */
interface RegistersThroughCrm {
  registerDevices(deviceRecordIds: readonly string[]): Promise<void>;
}
const registersThroughCrm = (crm: CrmGatewayPort): crm is CrmGatewayPort & RegistersThroughCrm =>
  typeof (crm as Partial<RegistersThroughCrm>).registerDevices === 'function';

/**
 * The console as a process of its own: it runs no stream processor and no orchestrator. It reads
 * the CRM and the status store the other processes write, and its actions go where the
 * orchestrator reads: an alert action or a command is a CRM record (the organisation's service
 * endpoint announces a command on the outbound queue), a registration is the CRM's
 * `msdyn_RegisterIoTDevice` action. Its live events come from polling that shared state.
 * A Dataverse emulator is never started here: with `ports.crm: dataverse`, `dataverse.url` names
 * the organisation (or the emulator) the orchestrator uses.
 */
export async function createConsoleServices(
  config: FieldlinkConfig,
  options: RuntimeOptions & { readonly pollIntervalMs?: number } = {},
): Promise<Result<StandaloneConsole, ConfigIssue[]>> {
  if (config.ports.crm === 'dataverse' && config.dataverse.embedded) {
    return err([
      {
        path: 'dataverse.url',
        message:
          'the console starts no Dataverse emulator of its own: set dataverse.url (FIELDLINK_DATAVERSE_URL) to the organisation or to the emulator the orchestrator uses (npm start -w @fieldlink/dataverse-emulator-app -- --data-dir <the data directory>)',
      },
    ]);
  }
  const assembled = await assemble(config, ['crm', 'statusStore'], options);
  if (!assembled.ok) return assembled;
  const { container, adapters, feed } = assembled.value;
  const crm = resolveToken(container, TOKENS.CrmGateway);
  const statusStore = resolveToken(container, TOKENS.StatusStore);
  const events = new SharedStateFeed({
    crm,
    statusStore,
    log: feed,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  });
  events.start();
  const registrations: Pick<DeviceRegistrations, 'registerCrmDevice'> = {
    registerCrmDevice: async (deviceRecordId) => {
      const device = await crm.getDevice(deviceRecordId);
      if (device === undefined) return err({ code: 'DeviceNotFound', message: `No IoT device record with id ${deviceRecordId}` });
      if (!registersThroughCrm(crm)) {
        return ok({
          deviceRecordId,
          deviceId: device.deviceId,
          status: RegistrationStatus.Error,
          message: 'this CRM cannot announce a registration to the orchestrator; register the device from the process that runs the orchestrator',
        });
      }
      await crm.registerDevices([deviceRecordId]);
      return ok({
        deviceRecordId,
        deviceId: device.deviceId,
        status: RegistrationStatus.InProgress,
        message: 'requested: the orchestrator registers the device in the hub and writes the result back',
      });
    },
  };
  return ok({
    services: {
      crm,
      statusStore,
      alertActions: resolveToken(container, APP_TOKENS.AlertActions),
      registrations,
      deviceTypes: resolveToken(container, APP_TOKENS.CommandCatalog).list(),
      defaultDeviceType: config.rules.defaultDeviceType,
      events,
      log: feed,
    },
    sharesNothing: config.ports.crm === 'in-memory' && config.ports.statusStore === 'in-memory',
    close: async () => {
      await events.stop();
      await adapters.close();
    },
  });
}
