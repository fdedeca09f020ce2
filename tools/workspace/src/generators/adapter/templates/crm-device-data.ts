import type { PortTemplate } from './template.js';

/** `CrmDeviceDataPort` (the CRM gateway's device data role) over an append-only client of JSON records per device. */
export const crmDeviceDataTemplate: PortTemplate = {
  portInterface: 'CrmDeviceDataPort',
  suite: 'crmDeviceDataConformance',
  fileSuffix: 'crm-device-data',
  classSuffix: 'CrmDeviceData',
  testClient: 'a Map',
  summary:
    'the device data history a pull of twins keeps (`msdyn_iotdevicedatahistory`, the device data role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`)',
  source: (n) => `import type { CrmDeviceDataPort, DeviceDataHistoryEntry } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. Text
 * records appended per device id, read back in the order they were appended.
 */
export interface ${n.className}Client {
  append(deviceId: string, record: string): Promise<void>;
  /** The device's records, oldest appended first; none for a device without any. */
  records(deviceId: string): Promise<string[]>;
}

/** The device data history on ${n.file}: each entry one JSON record under its device id. */
export class ${n.className}CrmDeviceData implements CrmDeviceDataPort {
  constructor(private readonly client: ${n.className}Client) {}

  async addDeviceDataHistory(entry: DeviceDataHistoryEntry): Promise<void> {
    await this.client.append(entry.deviceId, JSON.stringify(entry));
  }

  /** Newest first (by \`recordedOn\`, then the later appended). */
  async listDeviceDataHistory(deviceId: string): Promise<DeviceDataHistoryEntry[]> {
    return (await this.client.records(deviceId))
      .map((record, order) => ({ entry: JSON.parse(record) as DeviceDataHistoryEntry, order }))
      .sort((a, b) => b.entry.recordedOn - a.entry.recordedOn || b.order - a.order)
      .map(({ entry }) => entry);
  }
}
`,
  test: (n) => `import { crmDeviceDataConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmDeviceData, type ${n.className}Client } from './${n.file}-crm-device-data.js';

/** The client kept in a Map of record lists. */
const mapClient = (): ${n.className}Client => {
  const byDevice = new Map<string, string[]>();
  return {
    append: async (deviceId, record) => {
      byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), record]);
    },
    records: async (deviceId) => [...(byDevice.get(deviceId) ?? [])],
  };
};

crmDeviceDataConformance('${n.className}CrmDeviceData', async () => ({
  crm: new ${n.className}CrmDeviceData(mapClient()),
  // An entry refers to its device record by id only: this store checks no reference, so the devices are kept nowhere.
  related: { upsertDevice: async () => undefined },
  advanceTime: async () => undefined,
  dispose: async () => undefined,
}));
`,
};
