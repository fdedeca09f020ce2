import { addProjectConfiguration, formatFiles, joinPathFragments, names, type Tree } from '@nx/devkit';

/*
 * `nx g @fieldlink/workspace:adapter <name> --port <port>`: an adapter project under
 * libs/adapters/<name> that implements one port. It is tagged `layer:adapter` (lint then keeps it
 * on ports and domain only), has the workspace's tsconfig and test setup, runs the port's
 * conformance suite in a test from the start, and says in its README what is left to do.
 *
 * The adapter is written over a small client interface (the calls of the service's SDK it needs),
 * so the port's logic is real from the start: the test runs the conformance suite with that
 * client kept in a Map, and connecting the real service means wrapping its SDK in the interface.
 */

export interface AdapterGeneratorOptions {
  readonly name: string;
  readonly port: PortKey;
}

interface Names {
  /** `redis` */
  readonly file: string;
  /** `Redis` */
  readonly className: string;
  readonly project: string;
  readonly packageName: string;
  readonly root: string;
}

interface PortTemplate {
  readonly portInterface: string;
  readonly suite: string;
  readonly fileSuffix: string;
  readonly classSuffix: string;
  readonly summary: string;
  readonly source: (n: Names) => string;
  readonly test: (n: Names) => string;
}

/** The ports the generator has a template for; each template's adapter passes the port's conformance suite. */
const PORTS = {
  'rule-state-store': {
    portInterface: 'RuleStateStorePort',
    suite: 'ruleStateStoreConformance',
    fileSuffix: 'rule-state-store',
    classSuffix: 'RuleStateStore',
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
  },
  'rejected-telemetry': {
    portInterface: 'RejectedTelemetryPort',
    suite: 'rejectedTelemetryConformance',
    fileSuffix: 'rejected-telemetry',
    classSuffix: 'RejectedTelemetry',
    summary: 'telemetry that cannot be used, kept with its reason (`RejectedTelemetryPort`)',
    source: (n) => `import type { RejectedTelemetry, RejectedTelemetryPort } from '@fieldlink/ports';

/**
 * The calls of the service's client this adapter makes: wrap the SDK's client in it. An
 * append-only log of text records.
 */
export interface ${n.className}Client {
  append(record: string): Promise<void>;
  /** The last \`count\` records, oldest first. */
  last(count: number): Promise<string[]>;
}

/** One reject as stored: the body's raw bytes in base64, so bytes that are not UTF-8 survive. */
interface StoredReject {
  readonly envelope: Omit<RejectedTelemetry['envelope'], 'body'> & { readonly body: string };
  readonly reason: string;
  readonly description: string;
}

/** Rejected telemetry on ${n.file}: each reject one JSON record of the log. */
export class ${n.className}RejectedTelemetry implements RejectedTelemetryPort {
  constructor(private readonly client: ${n.className}Client) {}

  async reject(rejected: RejectedTelemetry): Promise<void> {
    const stored: StoredReject = { ...rejected, envelope: { ...rejected.envelope, body: Buffer.from(rejected.envelope.body).toString('base64') } };
    await this.client.append(JSON.stringify(stored));
  }

  /** The most recent \`maxItems\`, oldest first. */
  async list(maxItems: number): Promise<RejectedTelemetry[]> {
    return (await this.client.last(maxItems)).map((record) => {
      const stored = JSON.parse(record) as StoredReject;
      return { ...stored, envelope: { ...stored.envelope, body: new Uint8Array(Buffer.from(stored.envelope.body, 'base64')) } };
    });
  }
}
`,
    test: (n) => `import { rejectedTelemetryConformance } from '@fieldlink/ports/testing';
import { ${n.className}RejectedTelemetry, type ${n.className}Client } from './${n.file}-rejected-telemetry.js';

/** The client kept in an array. */
const arrayClient = (records: string[]): ${n.className}Client => ({
  append: async (record) => {
    records.push(record);
  },
  last: async (count) => records.slice(Math.max(0, records.length - count)),
});

rejectedTelemetryConformance('${n.className}RejectedTelemetry', async () => ({
  rejected: new ${n.className}RejectedTelemetry(arrayClient([])),
  dispose: async () => undefined,
}));
`,
  },
} satisfies Record<string, PortTemplate>;

export type PortKey = keyof typeof PORTS;
export const ADAPTER_PORTS = Object.keys(PORTS) as PortKey[];

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export async function adapterGenerator(tree: Tree, options: AdapterGeneratorOptions): Promise<void> {
  if (!NAME.test(options.name)) throw new Error(`adapter: name must be kebab case (a-z, 0-9, single dashes), got '${options.name}'`);
  const template: PortTemplate | undefined = (PORTS as Record<string, PortTemplate>)[options.port];
  if (template === undefined) throw new Error(`adapter: no template for port '${options.port}'; expected one of ${ADAPTER_PORTS.join(', ')}`);
  const root = joinPathFragments('libs/adapters', options.name);
  if (tree.exists(root)) throw new Error(`adapter: ${root} exists already`);
  const n: Names = { file: options.name, className: names(options.name).className, project: `adapter-${options.name}`, packageName: `@fieldlink/adapter-${options.name}`, root };

  addProjectConfiguration(tree, n.project, {
    root,
    sourceRoot: `${root}/src`,
    projectType: 'library',
    tags: ['layer:adapter'],
    targets: { build: {}, lint: {}, typecheck: {}, test: {} },
  });
  tree.write(
    `${root}/package.json`,
    // Sources inside the monorepo, the build for everyone else (docs/architecture.md, Conventions).
    `${JSON.stringify({ name: n.packageName, version: '0.1.0', private: true, type: 'module', exports: { '.': { '@fieldlink/source': './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' } }, dependencies: { '@fieldlink/domain': '*', '@fieldlink/ports': '*' } }, null, 2)}\n`,
  );
  tree.write(
    `${root}/tsconfig.lib.json`,
    `${JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: false, allowImportingTsExtensions: false, customConditions: [], rootDir: 'src', outDir: 'dist', declaration: true, sourceMap: true, inlineSources: true }, include: ['src/**/*.ts'], exclude: ['src/**/*.test.ts'] }, null, 2)}\n`,
  );
  tree.write(`${root}/tsconfig.json`, `${JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { types: ['node'] }, include: ['src/**/*.ts', 'vitest.config.ts'] }, null, 2)}\n`);
  tree.write(`${root}/vitest.config.ts`, `import { projectTestConfig } from '../../../vitest.shared.ts';\n\nexport default projectTestConfig(import.meta.url);\n`);
  const file = `${n.file}-${template.fileSuffix}`;
  tree.write(`${root}/src/${file}.ts`, template.source(n));
  tree.write(`${root}/src/${file}.test.ts`, template.test(n));
  tree.write(`${root}/src/index.ts`, `export * from './${file}.js';\n`);
  tree.write(
    `${root}/README.md`,
    `# ${n.packageName}

The ${template.portInterface} on ${n.file}: ${template.summary}.

- \`src/${file}.ts\`: \`${n.className}${template.classSuffix}\`, written over \`${n.className}Client\`, the
  calls of the service's client it makes. Wrap the service's SDK in that interface, and cite
  the service's documentation for what each call does.
- \`src/${file}.test.ts\`: the port's conformance suite (\`${template.suite}\` of
  \`@fieldlink/ports/testing\`), with the client kept in a Map. Add a run against the service
  itself (or a loopback stand-in of it) beside it; skip it only when its credential is missing,
  and say so.

Left to do: bind it in the composition (\`libs/composition/src/container/port-adapters.ts\`, a
setting in the configuration), list its dependencies in the root README's table, and run
\`npm install\` once so the workspace links the new package.
`,
  );
  await formatFiles(tree);
}

export default adapterGenerator;
