import { recordsClientInterface, recordsMapClient, type PortTemplate } from './template.js';

/** `CrmWorkPort` (the CRM gateway's work role) over a client of the CRM's records. */
export const crmWorkTemplate: PortTemplate = {
  portInterface: 'CrmWorkPort',
  suite: 'crmWorkConformance',
  fileSuffix: 'crm-work',
  classSuffix: 'CrmWork',
  testClient: 'a Map of tables',
  summary:
    'the cases and work orders raised for alerts (`incident`, `msdyn_workorder`: one of each per alert, however often asked), the work role of `CrmGatewayPort`; the other roles have their own suites in `@fieldlink/ports/testing`',
  source: (n) => `import { randomUUID } from 'node:crypto';
import { CrmError, type CrmCase, type CrmWorkOrder, type CrmWorkPort, type NewCrmCase, type NewCrmWorkOrder } from '@fieldlink/ports';

${recordsClientInterface(n)}

/** Cases and work orders are kept under their alert's id (an alternate key): a second create for an alert finds the first. */
const CASES = 'incidents';
const WORK_ORDERS = 'msdyn_workorders';

/** The cases and work orders on ${n.file}: one of each per alert, made by a create that fails when the alert has one already. */
export class ${n.className}CrmWork implements CrmWorkPort {
  constructor(private readonly client: ${n.className}Client) {}

  async createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string; readonly created: boolean }> {
    const { record, created } = await this.createOnce<CrmCase>(CASES, { ...newCase, caseId: randomUUID() });
    return { caseId: record.caseId, created };
  }

  async createWorkOrder(workOrder: NewCrmWorkOrder): Promise<{ readonly workOrderId: string; readonly created: boolean }> {
    const { record, created } = await this.createOnce<CrmWorkOrder>(WORK_ORDERS, { ...workOrder, workOrderId: randomUUID() });
    return { workOrderId: record.workOrderId, created };
  }

  async listWorkOrders(query: { readonly alertId?: string } = {}): Promise<CrmWorkOrder[]> {
    return this.ofAlert<CrmWorkOrder>(WORK_ORDERS, query.alertId);
  }

  /** The cases, of one alert when given: a read tests make (\`CrmReadBack\`), no flow. */
  async listCases(query: { readonly alertId?: string } = {}): Promise<CrmCase[]> {
    return this.ofAlert<CrmCase>(CASES, query.alertId);
  }

  /** Creates the record under its alert's id, or answers the one the alert has. */
  private async createOnce<T extends { readonly alertId: string }>(table: string, record: T): Promise<{ readonly record: T; readonly created: boolean }> {
    if (await this.client.create(table, record.alertId, JSON.stringify(record))) return { record, created: true };
    const found = await this.client.get(table, record.alertId);
    if (found === undefined) throw new CrmError('Transient', \`the \${table} record of alert \${JSON.stringify(record.alertId)} was deleted while it was read\`);
    return { record: JSON.parse(found.text) as T, created: false };
  }

  private async ofAlert<T>(table: string, alertId: string | undefined): Promise<T[]> {
    if (alertId === undefined) return (await this.client.list(table)).map(([, text]) => JSON.parse(text) as T);
    const found = await this.client.get(table, alertId);
    return found === undefined ? [] : [JSON.parse(found.text) as T];
  }
}
`,
  test: (n) => `import { randomUUID } from 'node:crypto';
import { crmWorkConformance } from '@fieldlink/ports/testing';
import { ${n.className}CrmWork, type ${n.className}Client } from './${n.file}-crm-work.js';

${recordsMapClient(n)}

crmWorkConformance('${n.className}CrmWork', async () => ({
  crm: new ${n.className}CrmWork(mapClient()),
  // A case or a work order refers to its alert and asset by id only: this store checks no reference, so they are kept nowhere.
  related: {
    upsertCustomerAsset: async () => undefined,
    createIoTAlert: async (alert) => ({ alertId: alert.alertId ?? randomUUID(), created: true }),
  },
  advanceTime: async () => undefined,
  dispose: async () => undefined,
}));
`,
};
