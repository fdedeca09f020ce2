// The one vitest setup every project extends. Besides the console report, each run writes a JSON
// report to tmp/test-results/<project>.json, which .ci/run sums into its closing totals line.
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultServerConditions } from 'vite';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const workspaceRoot = dirname(fileURLToPath(import.meta.url));

/**
 * Inside the monorepo, `@fieldlink/*` packages resolve to their TypeScript sources through the
 * `@fieldlink/source` export condition (published packages resolve to `dist`). Vite is told here;
 * processes a test starts (tsx, node --import tsx) inherit it through NODE_OPTIONS.
 */
export const SOURCE_CONDITION = '@fieldlink/source';
const sourceFlag = `--conditions=${SOURCE_CONDITION}`;
if (!(process.env['NODE_OPTIONS'] ?? '').includes(sourceFlag)) process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} ${sourceFlag}`.trim();

/** `report` names a second kind of run of the same project (e.g. `pact-verify`), written beside its tests' report. */
export function projectTestConfig(projectConfigUrl: string, overrides: ViteUserConfig['test'] = {}, report?: string): ViteUserConfig {
  const projectRoot = dirname(fileURLToPath(projectConfigUrl));
  const project = process.env['NX_TASK_TARGET_PROJECT'] ?? basename(projectRoot);
  return defineConfig({
    root: projectRoot,
    resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] },
    ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions], externalConditions: [SOURCE_CONDITION] } },
    test: {
      include: ['src/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: join(workspaceRoot, 'tmp', 'test-results', `${project}${report === undefined ? '' : `.${report}`}.json`) },
      passWithNoTests: false,
      // A hang guard, not a performance check: on a busy 2-core CI machine property runs and
      // spawned processes take many times longer than on an idle one.
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  });
}
