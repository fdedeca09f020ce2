import { deviceCategoryOfSource, recordsClientInterface, recordsMapClient, updateRecordSource, type PortTemplate } from './template.js';

/** `CrmDevicesPort` (the CRM gateway's devices role) over a client of the CRM's records. */
export const crmDevicesTemplate: PortTemplate = {
  portInterface: 'CrmDevicesPort',
  suite: 'crmDevicesConformance',
  fileSuffix: 'crm-devices',
  classSuffix: 'CrmDevices',
  testClient: 'a Map of tables',
  summary:
    'the IoT devices and customer assets (`msdyn_iotdevice`, `msdyn_customerasset`: read back as written, found by hub id, registration results written onto their devices), the devices role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`',
  source: (n) => `import { randomUUID } from 'node:crypto';
import {
  CrmError,
  deviceRecordsNotFound,
  type CrmCustomerAsset,
  type CrmDevice,
  type CrmDeviceCategory,
  type CrmDevicesPort,
  type RegistrationResult,
  type RegistrationResultsWrite,
} from '@fieldlink/ports';

${recordsClientInterface(n)}

/** The customer assets and the devices, each under its record id. */
const ASSETS = 'msdyn_customerassets';
const DEVICES = 'msdyn_iotdevices';

/**
 * The devices and customer assets on ${n.file}. A device is found by its hub id compared exactly
 * (the hub tells ids apart by case, and a \`'\` in one is plain data); a device of a new type makes
 * its category; a registration result is a read and a replace while the device is unchanged, and
 * never creates a device.
 */
export class ${n.className}CrmDevices implements CrmDevicesPort {
  constructor(private readonly client: ${n.className}Client) {}

  async upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void> {
    await this.client.put(ASSETS, asset.customerAssetId, JSON.stringify(asset));
  }

  /** A customer asset by id: a read tests make (\`CrmReadBack\`), no flow. */
  async getCustomerAsset(customerAssetId: string): Promise<CrmCustomerAsset | undefined> {
    const found = await this.client.get(ASSETS, customerAssetId);
    return found === undefined ? undefined : (JSON.parse(found.text) as CrmCustomerAsset);
  }

  async upsertDevice(device: CrmDevice): Promise<void> {
    if (device.deviceType !== '') await deviceCategoryOf(this.client, device.deviceType);
    await this.client.put(DEVICES, device.deviceRecordId, JSON.stringify(device));
  }

  async getDevice(deviceRecordId: string): Promise<CrmDevice | undefined> {
    const found = await this.client.get(DEVICES, deviceRecordId);
    return found === undefined ? undefined : (JSON.parse(found.text) as CrmDevice);
  }

  async findDeviceByHubId(deviceId: string): Promise<CrmDevice | undefined> {
    return (await this.listDevices()).find((device) => device.deviceId === deviceId);
  }

  async listDevices(): Promise<CrmDevice[]> {
    return (await this.client.list(DEVICES)).map(([, text]) => JSON.parse(text) as CrmDevice);
  }

  async writeRegistrationResults(results: readonly RegistrationResult[]): Promise<RegistrationResultsWrite> {
    const missing: string[] = [];
    for (const result of results) {
      const written = await updateRecord<CrmDevice>(this.client, DEVICES, result.deviceRecordId, (device) => ({
        ...device,
        deviceId: result.deviceId,
        registrationStatus: result.status,
        registrationMessage: result.message,
      }));
      if (written === undefined) missing.push(result.deviceRecordId);
    }
    return missing.length === 0 ? { ok: true, value: undefined } : { ok: false, error: deviceRecordsNotFound(missing) };
  }
}

${deviceCategoryOfSource(n)}

${updateRecordSource(n)}
`,
  test: (n) => `import { crmDevicesConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmDevices, type ${n.className}Client } from './${n.file}-crm-devices.js';

${recordsMapClient(n)}

crmDevicesConformance('${n.className}CrmDevices', async () => ({
  crm: new ${n.className}CrmDevices(mapClient()),
  advanceTime: async () => undefined,
  dispose: async () => undefined,
}));
`,
};
