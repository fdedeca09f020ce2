import type { PortTemplate } from './template.js';

/** `RuleStateStorePort` over a key-value client: each snapshot kept as JSON text under its key. */
export const ruleStateStoreTemplate: PortTemplate = {
  portInterface: 'RuleStateStorePort',
  suite: 'ruleStateStoreConformance',
  fileSuffix: 'rule-state-store',
  classSuffix: 'RuleStateStore',
  testClient: 'a Map',
  summary: 'rule state snapshots that survive a restart (`RuleStateStorePort`)',
  source: (n) => `import type { RuleStateStorePort } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. Text in,
 * text out; \`undefined\` for a key never written.
 */
export interface ${n.className}Client {
  read(key: string): Promise<string | undefined>;
  write(key: string, text: string): Promise<void>;
}

/**
 * Rule state on ${n.file}: each snapshot kept as JSON text under its key, so what is not JSON data
 * (a Map, a class instance, undefined members) is lost exactly as the port says.
 */
export class ${n.className}RuleStateStore implements RuleStateStorePort {
  constructor(private readonly client: ${n.className}Client) {}

  async load(key: string): Promise<unknown> {
    const text = await this.client.read(key);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(\`The rule state under "\${key}" is not JSON data.\`);
    await this.client.write(key, text);
  }
}
`,
  test: (n) => `import { ruleStateStoreConformance } from '@fieldlink/ports/testing';
import { ${n.className}RuleStateStore, type ${n.className}Client } from './${n.file}-rule-state-store.js';

/** The client kept in a Map: one storage shared by the stores of one test, as a restart would find it. */
const mapClient = (storage: Map<string, string>): ${n.className}Client => ({
  read: async (key) => storage.get(key),
  write: async (key, text) => {
    storage.set(key, text);
  },
});

ruleStateStoreConformance('${n.className}RuleStateStore', async () => {
  const storage = new Map<string, string>();
  return {
    store: new ${n.className}RuleStateStore(mapClient(storage)),
    reopen: async () => new ${n.className}RuleStateStore(mapClient(storage)),
    dispose: async () => undefined,
  };
});
`,
};
