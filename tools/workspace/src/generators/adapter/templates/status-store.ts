import type { PortTemplate } from './template.js';

/** `StatusStorePort` over a table client: rows of JSON text under keys, listed by key prefix. */
export const statusStoreTemplate: PortTemplate = {
  portInterface: 'StatusStorePort',
  suite: 'statusStoreConformance',
  fileSuffix: 'status-store',
  classSuffix: 'StatusStore',
  testClient: 'a Map of tables',
  summary: 'per-minute aggregates and device health for the status view (`StatusStorePort`)',
  source: (n) => `import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. Tables of
 * JSON text rows under string keys; \`put\` replaces the row under its key.
 */
export interface ${n.className}Client {
  put(table: string, key: string, text: string): Promise<void>;
  /** Every row of the table whose key starts with \`keyPrefix\`, in no particular order. */
  list(table: string, keyPrefix: string): Promise<string[]>;
}

const AGGREGATES = 'aggregates';
const HEALTH = 'health';

/** Key parts are URI-encoded, so no device id or reading type can run into the next part. */
const devicePrefix = (deviceId: string): string => \`\${encodeURIComponent(deviceId)}/\`;
const aggregateKey = (row: MinuteAggregate): string => \`\${devicePrefix(row.deviceId)}\${encodeURIComponent(row.readingType)}/\${row.windowEnd}\`;

/**
 * The status view on ${n.file}: one aggregate row per device, reading type and window end (a
 * replayed window replaces its row), and one health row per device.
 */
export class ${n.className}StatusStore implements StatusStorePort {
  constructor(private readonly client: ${n.className}Client) {}

  async writeAggregates(rows: readonly MinuteAggregate[]): Promise<void> {
    for (const row of rows) await this.client.put(AGGREGATES, aggregateKey(row), JSON.stringify(row));
  }

  async queryAggregates(deviceId: string, from: number, to: number): Promise<MinuteAggregate[]> {
    const rows = (await this.client.list(AGGREGATES, devicePrefix(deviceId))).map((text) => JSON.parse(text) as MinuteAggregate);
    return rows.filter((r) => r.windowEnd > from && r.windowEnd <= to).sort((a, b) => a.windowEnd - b.windowEnd);
  }

  async upsertDeviceHealth(health: DeviceHealth): Promise<void> {
    await this.client.put(HEALTH, encodeURIComponent(health.deviceId), JSON.stringify(health));
  }

  async upsertManyDeviceHealth(rows: readonly DeviceHealth[]): Promise<void> {
    for (const row of rows) await this.upsertDeviceHealth(row);
  }

  async listDeviceHealth(): Promise<DeviceHealth[]> {
    return (await this.client.list(HEALTH, '')).map((text) => JSON.parse(text) as DeviceHealth);
  }
}
`,
  test: (n) => `import { statusStoreConformance } from '@fieldlink/ports/testing';
import { ${n.className}StatusStore, type ${n.className}Client } from './${n.file}-status-store.js';

/** The client kept in a Map of tables. */
const mapClient = (): ${n.className}Client => {
  const tables = new Map<string, Map<string, string>>();
  const table = (name: string): Map<string, string> => tables.get(name) ?? tables.set(name, new Map()).get(name)!;
  return {
    put: async (name, key, text) => {
      table(name).set(key, text);
    },
    list: async (name, keyPrefix) => [...table(name)].filter(([key]) => key.startsWith(keyPrefix)).map(([, text]) => text),
  };
};

statusStoreConformance('${n.className}StatusStore', async () => ({
  store: new ${n.className}StatusStore(mapClient()),
  dispose: async () => undefined,
}));
`,
};
