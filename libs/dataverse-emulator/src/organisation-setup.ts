/**
 * What a customizer sets up in the organisation, written over the Web API as they would (the
 * stock tables and relationships): a device category with its command definitions (category ↔
 * command many-to-many, command ↔ parameter many-to-many) and the readings its visualization
 * configurations chart.
 */
export async function defineDeviceCategory(
  webApiUrl: string,
  category: {
    readonly name: string;
    readonly readings: readonly string[];
    readonly commands: ReadonlyArray<{ readonly name: string; readonly parameters: readonly string[] }>;
  },
): Promise<void> {
  const create = async (set: string, body: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${webApiUrl}${set}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer an-administrator' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`create ${set}: ${res.status} ${await res.text()}`);
    const id = /\(([0-9a-f-]{36})\)$/.exec(res.headers.get('odata-entityid') ?? '')?.[1];
    if (id === undefined) throw new Error(`create ${set}: no OData-EntityId`);
    return id;
  };
  const associate = async (set: string, id: string, relationship: string, relatedSet: string, relatedId: string): Promise<void> => {
    const res = await fetch(`${webApiUrl}${set}(${id})/${relationship}/$ref`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer an-administrator' },
      body: JSON.stringify({ '@odata.id': `${webApiUrl}${relatedSet}(${relatedId})` }),
    });
    if (!res.ok) throw new Error(`associate ${relationship}: ${res.status} ${await res.text()}`);
  };
  const properties = new Map<string, string>();
  const property = async (name: string): Promise<string> => {
    const known = properties.get(name);
    if (known !== undefined) return known;
    const id = await create('msdyn_iotpropertydefinitions', { msdyn_name: name, msdyn_type: 192350005 });
    properties.set(name, id);
    return id;
  };
  const categoryId = await create('msdyn_iotdevicecategories', { msdyn_name: category.name });
  for (const [position, reading] of category.readings.entries()) {
    await create('msdyn_iotdevicevisualizationconfigurations', {
      msdyn_name: reading,
      msdyn_position: position + 1,
      msdyn_visualizationconfigurationtype: 192350000,
      msdyn_aggregation: 192350001,
      'msdyn_iotdevicecategory@odata.bind': `/msdyn_iotdevicecategories(${categoryId})`,
      'msdyn_measurement@odata.bind': `/msdyn_iotpropertydefinitions(${await property(reading)})`,
    });
  }
  for (const command of category.commands) {
    const commandId = await create('msdyn_iotdevicecommanddefinitions', { msdyn_name: command.name });
    await associate('msdyn_iotdevicecategories', categoryId, 'msdyn_iotdevicecategorycommands', 'msdyn_iotdevicecommanddefinitions', commandId);
    for (const parameter of command.parameters)
      await associate(
        'msdyn_iotdevicecommanddefinitions',
        commandId,
        'msdyn_iotdevicecommandparameters',
        'msdyn_iotpropertydefinitions',
        await property(parameter),
      );
  }
}

const SETTINGS_ID = '7f3c2a10-5b4e-4d6f-9a8b-1c2d3e4f5a6b';

/** Writes the organisation's one IoT settings record through the Web API, as an administrator's form save would. */
export async function setIoTSettings(
  webApiUrl: string,
  settings: { readonly commandNameProperty?: string; readonly commandParametersProperty?: string },
): Promise<void> {
  const res = await fetch(`${webApiUrl}msdyn_iotsettingses(${SETTINGS_ID})`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0', Authorization: 'Bearer an-administrator' },
    body: JSON.stringify({
      msdyn_name: 'IoT Settings',
      msdyn_commandnameproperty: settings.commandNameProperty ?? null,
      msdyn_commandparametersproperty: settings.commandParametersProperty ?? null,
    }),
  });
  if (!res.ok) throw new Error(`PATCH msdyn_iotsettingses answered ${res.status} ${await res.text()}`);
}
