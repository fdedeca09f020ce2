import { deviceCategoryOfSource, recordsClientInterface, recordsMapClient, type PortTemplate } from './template.js';

/** `CrmDeviceCategoriesPort` (the CRM gateway's device categories role) over a client of the CRM's records. */
export const crmDeviceCategoriesTemplate: PortTemplate = {
  portInterface: 'CrmDeviceCategoriesPort',
  suite: 'crmDeviceCategoriesConformance',
  fileSuffix: 'crm-device-categories',
  classSuffix: 'CrmDeviceCategories',
  testClient: 'a Map of tables',
  summary:
    'the device categories (`msdyn_iotdevicecategory`: a device type with the readings and commands the organisation defines for it), the device categories role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`',
  source: (n) => `import { randomUUID } from 'node:crypto';
import { CrmError, type CrmDeviceCategoriesPort, type CrmDeviceCategory } from '@fieldlink/ports';

${recordsClientInterface(n)}

${deviceCategoryOfSource(n)}

/** The device categories on ${n.file}, by name. */
export class ${n.className}CrmDeviceCategories implements CrmDeviceCategoriesPort {
  constructor(private readonly client: ${n.className}Client) {}

  async listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    return (await this.client.list(DEVICE_CATEGORIES)).map(([, text]) => categoryOf(text)).sort((a, b) => a.name.localeCompare(b.name));
  }
}
`,
  test: (n) => `import { crmDeviceCategoriesConformance } from '@fieldlink/ports/testing';
import { DEVICE_CATEGORIES, deviceCategoryOf, ${n.className}CrmDeviceCategories, type ${n.className}Client } from './${n.file}-crm-device-categories.js';

${recordsMapClient(n)}

crmDeviceCategoriesConformance('${n.className}CrmDeviceCategories', async () => {
  const client = mapClient();
  return {
    crm: new ${n.className}CrmDeviceCategories(client),
    related: {
      // A device of a new type makes its category, as the devices role's adapter does over the same CRM; the device is kept nowhere.
      upsertDevice: async (device) => {
        if (device.deviceType !== '') await deviceCategoryOf(client, device.deviceType);
      },
    },
    // A customizer sets the category's readings and commands on its record.
    defineDeviceCategory: async (category) => {
      const { categoryId } = await deviceCategoryOf(client, category.name);
      await client.put(DEVICE_CATEGORIES, category.name, JSON.stringify({ ...category, categoryId }));
    },
    advanceTime: async () => undefined,
    dispose: async () => undefined,
  };
});
`,
};
