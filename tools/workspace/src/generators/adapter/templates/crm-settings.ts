import type { PortTemplate } from './template.js';

/** `CrmSettingsPort` (the CRM gateway's settings role) over a client reading one settings record. */
export const crmSettingsTemplate: PortTemplate = {
  portInterface: 'CrmSettingsPort',
  suite: 'crmSettingsConformance',
  fileSuffix: 'crm-settings',
  classSuffix: 'CrmSettings',
  testClient: 'a variable',
  summary:
    "the organisation's IoT settings (`msdyn_iotsettings`: the command property names, CFS's defaults where unset), the settings role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`",
  source: (n) => `import { DEFAULT_IOT_SETTINGS, type CrmIoTSettings, type CrmSettingsPort } from '@fieldlink/ports';

/** The columns of the organisation's IoT settings record this adapter reads. */
export interface ${n.className}SettingsRecord {
  readonly commandNameProperty?: string;
  readonly commandParametersProperty?: string;
}

/** The calls of the service's client this adapter makes: wrap the SDK's client in it. */
export interface ${n.className}Client {
  /** The organisation's IoT settings record, if it has one. */
  settingsRecord(): Promise<${n.className}SettingsRecord | undefined>;
}

/** The IoT settings on ${n.file}: each value of the record, CFS's default where the record or the column is empty. */
export class ${n.className}CrmSettings implements CrmSettingsPort {
  constructor(private readonly client: ${n.className}Client) {}

  async getIoTSettings(): Promise<CrmIoTSettings> {
    const record = await this.client.settingsRecord();
    return {
      commandNameProperty: nonEmpty(record?.commandNameProperty) ?? DEFAULT_IOT_SETTINGS.commandNameProperty,
      commandParametersProperty: nonEmpty(record?.commandParametersProperty) ?? DEFAULT_IOT_SETTINGS.commandParametersProperty,
    };
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);
`,
  test: (n) => `import { crmSettingsConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmSettings, type ${n.className}SettingsRecord } from './${n.file}-crm-settings.js';

crmSettingsConformance('${n.className}CrmSettings', async () => {
  // The client keeps the record in a variable, which the suite sets as an administrator would.
  let record: ${n.className}SettingsRecord | undefined;
  return {
    crm: new ${n.className}CrmSettings({ settingsRecord: async () => record }),
    setIoTSettings: async (settings) => {
      record = { ...settings };
    },
    advanceTime: async () => undefined,
    dispose: async () => undefined,
  };
});
`,
};
