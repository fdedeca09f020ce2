import { addProjectConfiguration, formatFiles, joinPathFragments, names, type Tree } from '@nx/devkit';
import { cloudToDeviceTemplate } from './templates/cloud-to-device.js';
import { crmAlertsTemplate } from './templates/crm-alerts.js';
import { crmCommandsTemplate } from './templates/crm-commands.js';
import { crmDeviceCategoriesTemplate } from './templates/crm-device-categories.js';
import { crmDevicesTemplate } from './templates/crm-devices.js';
import { crmDeviceDataTemplate } from './templates/crm-device-data.js';
import { crmSettingsTemplate } from './templates/crm-settings.js';
import { crmWorkTemplate } from './templates/crm-work.js';
import { deviceClientTemplate } from './templates/device-client.js';
import { deviceRegistryTemplate } from './templates/device-registry.js';
import { messageQueueTemplate } from './templates/message-queue.js';
import { referenceDataTemplate } from './templates/reference-data.js';
import { rejectedTelemetryTemplate } from './templates/rejected-telemetry.js';
import { ruleStateStoreTemplate } from './templates/rule-state-store.js';
import { statusStoreTemplate } from './templates/status-store.js';
import { telemetryIntakeTemplate } from './templates/telemetry-intake.js';
import type { Names, PortTemplate } from './templates/template.js';

/*
 * `nx g @fieldlink/workspace:adapter <name> --port <port>`: an adapter project under
 * libs/adapters/<name> that implements one port. It is tagged `layer:adapter` (lint then keeps it
 * on ports and domain only), has the workspace's tsconfig and test setup, runs the port's
 * conformance suite in a test from the start, and says in its README what is left to do.
 *
 * The adapter is written over a small client interface (the calls of the service's SDK it needs),
 * so the port's logic is real from the start: the test runs the conformance suite with that
 * client kept in memory, and connecting the real service means wrapping its SDK in the interface.
 */

export interface AdapterGeneratorOptions {
  readonly name: string;
  readonly port: PortKey;
}

/** The ports the generator has a template for; each template's adapter passes the port's conformance suite. */
const PORTS = {
  'rule-state-store': ruleStateStoreTemplate,
  'rejected-telemetry': rejectedTelemetryTemplate,
  'status-store': statusStoreTemplate,
  'reference-data': referenceDataTemplate,
  'device-registry': deviceRegistryTemplate,
  'message-queue': messageQueueTemplate,
  'telemetry-intake': telemetryIntakeTemplate,
  'cloud-to-device': cloudToDeviceTemplate,
  'device-client': deviceClientTemplate,
  'crm-device-data': crmDeviceDataTemplate,
  'crm-settings': crmSettingsTemplate,
  'crm-device-categories': crmDeviceCategoriesTemplate,
  'crm-work': crmWorkTemplate,
  'crm-alerts': crmAlertsTemplate,
  'crm-commands': crmCommandsTemplate,
  'crm-devices': crmDevicesTemplate,
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
  const n: Names = {
    file: options.name,
    className: names(options.name).className,
    project: `adapter-${options.name}`,
    packageName: `@fieldlink/adapter-${options.name}`,
    root,
  };

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
  tree.write(
    `${root}/tsconfig.json`,
    `${JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { types: ['node'] }, include: ['src/**/*.ts', 'vitest.config.ts'] }, null, 2)}\n`,
  );
  tree.write(
    `${root}/vitest.config.ts`,
    `import { projectTestConfig } from '../../../vitest.shared.ts';\n\nexport default projectTestConfig(import.meta.url);\n`,
  );
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
  \`@fieldlink/ports/testing\`), with the client kept in ${template.testClient}. Add a run against the service
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
