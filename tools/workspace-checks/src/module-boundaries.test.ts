import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/*
 * The layer rules of architecture.md are only real if lint refuses a wrong import. These lint
 * probe files placed (virtually) inside each project and expect the boundary error, or none.
 */
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const eslint = new ESLint({
  cwd: workspaceRoot,
  // The probes are virtual files that no tsconfig program holds, so they are linted without type
  // information; `nx lint` checks the type-aware rules on the real files.
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': 'off',
    },
  },
});

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(workspaceRoot, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries', () => {
  // Every library depends on the domain, so lint reports the domain importing one of them as a
  // circular dependency, which fails lint just the same.
  it('refuse the domain importing an adapter', async () => {
    const errors = await boundaryErrors(
      'libs/domain/src/boundary-probe.ts',
      "import { InMemoryQueue } from '@fieldlink/adapter-in-memory';\nexport const probe = InMemoryQueue;\n",
    );
    expect(errors).toEqual([expect.stringContaining('Circular dependency between "domain" and "adapter-in-memory" detected')]);
  });

  it('refuse the domain importing ports', async () => {
    const errors = await boundaryErrors('libs/domain/src/boundary-probe.ts', "import { TOKENS } from '@fieldlink/ports';\nexport const probe = TOKENS;\n");
    expect(errors).toEqual([expect.stringContaining('Circular dependency between "domain" and "ports" detected')]);
  });

  // The SQL adapter: the Azure adapter's consumer pacts run the in-memory adapters, so the in-memory
  // adapter importing it would be reported as a cycle instead.
  it('refuse an adapter importing another adapter', async () => {
    const errors = await boundaryErrors(
      'libs/adapters/in-memory/src/boundary-probe.ts',
      "import { migrateToLatest } from '@fieldlink/adapter-sql';\nexport const probe = migrateToLatest;\n",
    );
    expect(errors).toEqual([
      expect.stringContaining('A project tagged with "layer:adapter" can only depend on libs tagged with "layer:ports", "layer:domain"'),
    ]);
  });

  it('refuse an adapter importing flows', async () => {
    const errors = await boundaryErrors(
      'libs/adapters/azure/src/boundary-probe.ts',
      "import { QueueProcessor } from '@fieldlink/flows';\nexport const probe = QueueProcessor;\n",
    );
    expect(errors).toEqual([expect.stringContaining('A project tagged with "layer:adapter" can only depend on libs tagged with')]);
  });

  it('refuse flows importing an adapter outside tests', async () => {
    const errors = await boundaryErrors(
      'libs/flows/src/boundary-probe.ts',
      "import { InMemoryCrm } from '@fieldlink/adapter-in-memory';\nexport const probe = InMemoryCrm;\n",
    );
    expect(errors).toEqual([expect.stringContaining('A project tagged with "layer:flows" can only depend on libs tagged with')]);
  });

  it('allow a ui library importing another (the shared web kit), and refuse one importing an adapter outside tests', async () => {
    expect(
      await boundaryErrors(
        'libs/ui/console/src/boundary-probe.ts',
        "import { startWebServer } from '@fieldlink/ui-web-kit';\nexport const probe = startWebServer;\n",
      ),
    ).toEqual([]);
    const errors = await boundaryErrors(
      'libs/ui/console/src/boundary-probe.ts',
      "import { InMemoryCrm } from '@fieldlink/adapter-in-memory';\nexport const probe = InMemoryCrm;\n",
    );
    expect(errors).toEqual([expect.stringContaining('A project tagged with "layer:ui" can only depend on libs tagged with')]);
  });

  it('allow an adapter’s tests to run it against its service’s emulator, and refuse the adapter’s code importing it', async () => {
    const probe = "import { startDataverseEmulator } from '@fieldlink/dataverse-emulator';\nexport const probe = startDataverseEmulator;\n";
    expect(await boundaryErrors('libs/adapters/dynamics/src/boundary-probe.test.ts', probe)).toEqual([]);
    expect(await boundaryErrors('libs/adapters/dynamics/src/boundary-probe.ts', probe)).toEqual([
      expect.stringContaining('A project tagged with "layer:adapter" can only depend on libs tagged with "layer:ports", "layer:domain"'),
    ]);
  });

  it('allow an adapter’s tests to run it against the Azure stand-ins, and refuse the adapter’s code importing them', async () => {
    const probe = "import { ServiceBusStandin } from '@fieldlink/azure-standins';\nexport const probe = ServiceBusStandin;\n";
    expect(await boundaryErrors('libs/adapters/azure/src/boundary-probe.test.ts', probe)).toEqual([]);
    expect(await boundaryErrors('libs/adapters/azure/src/boundary-probe.pact.test.ts', probe)).toEqual([]);
    expect(await boundaryErrors('libs/adapters/azure/src/boundary-probe.ts', probe)).toEqual([
      expect.stringContaining('A project tagged with "layer:adapter" can only depend on libs tagged with "layer:ports", "layer:domain"'),
    ]);
  });

  it('refuse the stand-ins importing the adapter they stand in for: its tests import them, so it would be a cycle', async () => {
    const errors = await boundaryErrors(
      'tools/azure-standins/src/boundary-probe.ts',
      "import { ServiceBusQueue } from '@fieldlink/adapter-azure';\nexport const probe = ServiceBusQueue;\n",
    );
    expect(errors).toEqual([expect.stringContaining('Circular dependency between "azure-standins" and "adapter-azure" detected')]);
  });

  it('allow the composition’s tests to check it against the stand-ins, and refuse its code importing them', async () => {
    const probe = "import { startAzurite } from '@fieldlink/azure-standins';\nexport const probe = startAzurite;\n";
    expect(await boundaryErrors('libs/composition/src/boundary-probe.test.ts', probe)).toEqual([]);
    expect(await boundaryErrors('libs/composition/src/boundary-probe.ts', probe)).toEqual([
      expect.stringContaining('A project tagged with "layer:composition" can only depend on libs tagged with'),
    ]);
  });

  it('allow what architecture.md allows: flows on ports and domain, apps on everything', async () => {
    expect(
      await boundaryErrors(
        'libs/flows/src/boundary-probe.ts',
        "import { TOKENS } from '@fieldlink/ports';\nimport { ok } from '@fieldlink/domain';\nexport const probe = [TOKENS, ok];\n",
      ),
    ).toEqual([]);
    expect(
      await boundaryErrors(
        'apps/cli/src/boundary-probe.ts',
        "import { InMemoryCrm } from '@fieldlink/adapter-in-memory';\nimport { QueueProcessor } from '@fieldlink/flows';\nexport const probe = [InMemoryCrm, QueueProcessor];\n",
      ),
    ).toEqual([]);
  });
});
