import type { CrmDeviceCategory } from '@fieldlink/ports';
import { CATEGORY_COMMANDS_RELATIONSHIP, COMMAND_PARAMETERS_RELATIONSHIP } from './cfs-tables.js';
import type { DataverseClient } from './dataverse-client.js';
import { str, type Row } from './dataverse-rows.js';
import { deterministicGuid } from './deterministic-id.js';
import { eqString } from './odata-literal.js';

/** The device categories (msdyn_iotdevicecategory): what a device type is in the CRM. */
export class DataverseDeviceCategories {
  /** Category ids by name, once found or made. */
  private readonly ids = new Map<string, string>();

  constructor(private readonly client: DataverseClient) {}

  /**
   * Every msdyn_iotdevicecategory with its commands (the category ↔ command definition
   * many-to-many, each command's parameters from the command ↔ property definition one) and its
   * readings: the property definitions the category's visualization configurations chart
   * (`msdyn_measurement`), which is where a stock organisation ties readings to a category.
   */
  async listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    const [categories, definitions, visualizations, properties] = await Promise.all([
      this.client.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], {
        orderBy: ['msdyn_name asc'],
        expand: [{ property: CATEGORY_COMMANDS_RELATIONSHIP, select: ['msdyn_iotdevicecommanddefinitionid'] }],
      }),
      this.client.query('commandDefinitions', ['msdyn_iotdevicecommanddefinitionid', 'msdyn_name'], {
        expand: [{ property: COMMAND_PARAMETERS_RELATIONSHIP, select: ['msdyn_name'] }],
      }),
      this.client.query('visualizations', ['_msdyn_iotdevicecategory_value', '_msdyn_measurement_value'], { filter: '_msdyn_iotdevicecategory_value ne null' }),
      this.client.query('propertyDefinitions', ['msdyn_iotpropertydefinitionid', 'msdyn_name'], {}),
    ]);
    const propertyName = new Map(properties.map((p) => [str(p['msdyn_iotpropertydefinitionid']), str(p['msdyn_name'])]));
    const commandOf = new Map(
      definitions.map((d) => [
        str(d['msdyn_iotdevicecommanddefinitionid']),
        { name: str(d['msdyn_name']), parameters: ((d[COMMAND_PARAMETERS_RELATIONSHIP] as Row[] | undefined) ?? []).map((p) => str(p['msdyn_name'])).sort() },
      ]),
    );
    return categories.map((c) => {
      const id = str(c['msdyn_iotdevicecategoryid']);
      const readings = [
        ...new Set(
          visualizations
            .filter((v) => str(v['_msdyn_iotdevicecategory_value']) === id)
            .flatMap((v) => propertyName.get(str(v['_msdyn_measurement_value'])) ?? []),
        ),
      ].sort();
      const commands = ((c[CATEGORY_COMMANDS_RELATIONSHIP] as Row[] | undefined) ?? [])
        .flatMap((d) => commandOf.get(str(d['msdyn_iotdevicecommanddefinitionid'])) ?? [])
        .sort((x, y) => x.name.localeCompare(y.name));
      return { categoryId: id, name: str(c['msdyn_name']), readings, commands };
    });
  }

  /** The category of this name (exact match), or one made under an id derived from the name, so two writers make one. */
  async idOf(name: string): Promise<string> {
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    const rows = await this.client.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], { filter: eqString('msdyn_name', name) });
    const found = rows.find((r) => r['msdyn_name'] === name);
    let id: string;
    if (found !== undefined) id = str(found['msdyn_iotdevicecategoryid']);
    else {
      id = deterministicGuid('msdyn_iotdevicecategory', name);
      const outcome = await this.client.guardedWrite('create msdyn_iotdevicecategory', {
        table: 'deviceCategories',
        id,
        data: { msdyn_name: name },
        mode: 'create',
      });
      this.client.failUnlessExists('create msdyn_iotdevicecategory', outcome);
    }
    this.ids.set(name, id);
    return id;
  }

  /** Category names by id. */
  async names(): Promise<Map<string, string>> {
    const rows = await this.client.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], {});
    return new Map(rows.map((r) => [str(r['msdyn_iotdevicecategoryid']), str(r['msdyn_name'])]));
  }
}
