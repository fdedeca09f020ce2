import { recordsClientInterface, recordsMapClient, type PortTemplate } from './template.js';

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

/** One record per category, under its name (an alternate key): two writers of one name make one category. */
export const DEVICE_CATEGORIES = 'msdyn_iotdevicecategories';

/**
 * The category of a device type, made without readings or commands when the CRM has none: what
 * writing a device of a new type does, on the devices' side of the same CRM.
 */
export async function deviceCategoryOf(client: ${n.className}Client, name: string): Promise<CrmDeviceCategory> {
  const made: CrmDeviceCategory = { categoryId: randomUUID(), name, readings: [], commands: [] };
  if (await client.create(DEVICE_CATEGORIES, name, JSON.stringify(made))) return made;
  const found = await client.get(DEVICE_CATEGORIES, name);
  if (found === undefined) throw new CrmError('Transient', \`the device category \${JSON.stringify(name)} was deleted while it was read\`);
  return categoryOf(found.text);
}

/** The device categories on ${n.file}, by name. */
export class ${n.className}CrmDeviceCategories implements CrmDeviceCategoriesPort {
  constructor(private readonly client: ${n.className}Client) {}

  async listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    return (await this.client.list(DEVICE_CATEGORIES)).map(([, text]) => categoryOf(text)).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** A stored category; readings and commands empty where the organisation defines none. */
function categoryOf(text: string): CrmDeviceCategory {
  const stored = JSON.parse(text) as Partial<CrmDeviceCategory> & Pick<CrmDeviceCategory, 'categoryId' | 'name'>;
  return { categoryId: stored.categoryId, name: stored.name, readings: stored.readings ?? [], commands: stored.commands ?? [] };
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
      // Writing a device of a new type makes its category (the devices' side of the CRM); the device itself is kept nowhere.
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
