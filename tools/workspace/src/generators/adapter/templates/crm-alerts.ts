import { DEFINED_ONLY_SOURCE, recordsClientInterface, recordsMapClient, updateRecordSource, type PortTemplate } from './template.js';

/** `CrmAlertsPort` (the CRM gateway's alerts role) over a client of the CRM's records. */
export const crmAlertsTemplate: PortTemplate = {
  portInterface: 'CrmAlertsPort',
  suite: 'crmAlertsConformance',
  fileSuffix: 'crm-alerts',
  classSuffix: 'CrmAlerts',
  testClient: 'a Map of tables',
  summary:
    'the IoT alerts (`msdyn_iotalert`: created once per alert id or token, found newest first per device, patched), the alerts role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`',
  source: (n) => `import { randomUUID } from 'node:crypto';
import {
  alertNotFound,
  CrmError,
  type CreatedIoTAlert,
  type CrmAlertsPort,
  type IoTAlertPatch,
  type IoTAlertUpdate,
  type NewIoTAlert,
  type StoredIoTAlert,
} from '@fieldlink/ports';

${recordsClientInterface(n)}

/** The alerts, under their record ids. */
const ALERTS = 'msdyn_iotalerts';
/** Per alert token, the id of its first alert (an alternate key): an alert created without an id is that one. */
const ALERT_TOKENS = 'msdyn_iotalerts_by_token';

/** Newest first: by alert time, then by id, so equal times list the same way every time. */
const newestFirst = (a: StoredIoTAlert, b: StoredIoTAlert): number => b.alertTime - a.alertTime || b.alertId.localeCompare(a.alertId);

/**
 * The IoT alerts on ${n.file}. Creation never makes a second record of one alert: with an id, a
 * create under that id; without, a create under the id its token claimed first. A patch is a
 * read and a replace while the alert is unchanged, so two writers never lose each other's fields.
 */
export class ${n.className}CrmAlerts implements CrmAlertsPort {
  constructor(private readonly client: ${n.className}Client) {}

  async createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert> {
    const alertId = alert.alertId ?? (await this.claimToken(alert.alertToken, randomUUID()));
    const created = await this.client.create(ALERTS, alertId, JSON.stringify({ ...alert, alertId } satisfies StoredIoTAlert));
    if (alert.alertId !== undefined) await this.claimToken(alert.alertToken, alertId);
    return { alertId, created };
  }

  async getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined> {
    const found = await this.client.get(ALERTS, alertId);
    return found === undefined ? undefined : (JSON.parse(found.text) as StoredIoTAlert);
  }

  async findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]> {
    return (await this.alerts()).filter((a) => a.deviceId === deviceId && a.alertTime >= since).sort(newestFirst);
  }

  async updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<IoTAlertUpdate> {
    const updated = await updateRecord<StoredIoTAlert>(this.client, ALERTS, alertId, (alert) => ({ ...alert, ...definedOnly(patch) }));
    return updated === undefined ? { ok: false, error: alertNotFound(alertId) } : { ok: true, value: undefined };
  }

  async listIoTAlerts(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<StoredIoTAlert[]> {
    const matching = (await this.alerts()).filter((a) => query.deviceId === undefined || a.deviceId === query.deviceId).sort(newestFirst);
    return query.top === undefined ? matching : matching.slice(0, query.top);
  }

  /** Every alert of an event token, oldest first: a read tests make (\`CrmReadBack\`), no flow. */
  async findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]> {
    return (await this.alerts())
      .filter((a) => a.alertToken === alertToken)
      .sort(newestFirst)
      .reverse();
  }

  /** The id of the token's first alert: \`alertId\`, unless another alert claimed the token before. */
  private async claimToken(alertToken: string, alertId: string): Promise<string> {
    if (await this.client.create(ALERT_TOKENS, alertToken, alertId)) return alertId;
    const claimed = await this.client.get(ALERT_TOKENS, alertToken);
    if (claimed === undefined) throw new CrmError('Transient', 'the claim of an alert token was deleted while it was read');
    return claimed.text;
  }

  private async alerts(): Promise<StoredIoTAlert[]> {
    return (await this.client.list(ALERTS)).map(([, text]) => JSON.parse(text) as StoredIoTAlert);
  }
}

${updateRecordSource(n)}

${DEFINED_ONLY_SOURCE}
`,
  test: (n) => `import { randomUUID } from 'node:crypto';
import { crmAlertsConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmAlerts, type ${n.className}Client } from './${n.file}-crm-alerts.js';

${recordsMapClient(n)}

crmAlertsConformance('${n.className}CrmAlerts', async () => ({
  crm: new ${n.className}CrmAlerts(mapClient()),
  // An alert refers to its device, asset, case and command by id only: this store checks no reference, so they are kept nowhere.
  related: {
    upsertCustomerAsset: async () => undefined,
    upsertDevice: async () => undefined,
    createCase: async () => ({ caseId: randomUUID() }),
    createCommand: async (command) => ({ commandId: command.commandId ?? randomUUID() }),
  },
  advanceTime: async () => undefined,
  dispose: async () => undefined,
}));
`,
};
