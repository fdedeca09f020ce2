// Later CFS (device data): "pull device data", device twins into the device data history.
import type { CrmDevicesPort, CrmDeviceDataPort, DeviceRegistryPort, LogPort } from '@fieldlink/ports';

export interface DeviceDataPullDeps {
  readonly crm: CrmDevicesPort & CrmDeviceDataPort;
  readonly registry: DeviceRegistryPort;
  readonly log: LogPort;
}

export interface PulledDeviceData {
  readonly deviceId: string;
  /** False when the hub does not know the device. */
  readonly found: boolean;
  /** False when this pull was recorded before (a repeated request). */
  readonly recorded: boolean;
}

/**
 * "Pull device data" (later CFS): each device's twin (connection state, last activity, reported
 * properties) becomes one `msdyn_iotdevicedatahistory` entry stamped `recordedOn`. The stamp
 * comes from the request, not the clock, so a repeated request finds its entry and adds none.
 */
export class DeviceDataPull {
  constructor(private readonly deps: DeviceDataPullDeps) {}

  async pull(deviceIds: readonly string[], recordedOn: number, correlationId?: string): Promise<PulledDeviceData[]> {
    const { crm, registry, log } = this.deps;
    const twins = new Map((await registry.getTwins(deviceIds)).map((t) => [t.deviceId, t]));
    const results: PulledDeviceData[] = [];
    for (const deviceId of deviceIds) {
      const twin = twins.get(deviceId);
      if (twin === undefined) {
        log.warn('device-data.unknown-device', { correlationId, deviceId });
        results.push({ deviceId, found: false, recorded: false });
        continue;
      }
      const history = await crm.listDeviceDataHistory(deviceId);
      if (history.some((h) => h.recordedOn === recordedOn)) {
        results.push({ deviceId, found: true, recorded: false });
        continue;
      }
      const device = await crm.findDeviceByHubId(deviceId);
      await crm.addDeviceDataHistory({
        deviceId,
        ...(device === undefined ? {} : { deviceRecordId: device.deviceRecordId }),
        connectionState: twin.connectionState,
        ...(twin.lastActivityTime === undefined ? {} : { lastActivityTime: twin.lastActivityTime }),
        reportedProperties: JSON.stringify(twin.reported),
        recordedOn,
      });
      log.info('device-data.recorded', { correlationId, deviceId, connectionState: twin.connectionState });
      results.push({ deviceId, found: true, recorded: true });
    }
    return results;
  }
}
