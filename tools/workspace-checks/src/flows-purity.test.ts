import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/*
 * The flows take time from ClockPort and ids from IdPort (architecture.md, "Conventions"); lint
 * says so. These lint probe texts placed (virtually) inside libs/flows and expect the purity
 * errors, or none in the two exempt files.
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
const PURITY_RULES = new Set(['no-restricted-globals', 'no-restricted-properties', 'no-restricted-syntax', 'no-restricted-imports']);

async function purityErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(workspaceRoot, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId !== null && PURITY_RULES.has(m.ruleId)).map((m) => `${m.ruleId}: ${m.message}`);
}

const IMPURE = [
  "import { randomUUID } from 'node:crypto';",
  'export const id = (): string => randomUUID();',
  'export const now = (): number => Date.now();',
  'export const today = (): Date => new Date();',
  'export const jitter = (): number => Math.random();',
  'export const tick = (): unknown => setInterval(() => undefined, 1_000);',
  '',
].join('\n');

describe('the purity of the flows', () => {
  it('refuses the system clock, random ids and values, and timers in a flow', async () => {
    const errors = await purityErrors('libs/flows/src/ingest/purity-probe.ts', IMPURE);
    expect(errors).toEqual([
      expect.stringMatching(/^no-restricted-imports: 'randomUUID' import from 'node:crypto' is restricted/),
      expect.stringMatching(/^no-restricted-properties: 'Date.now'/),
      expect.stringMatching(/^no-restricted-syntax: Flows read the time from their ClockPort/),
      expect.stringMatching(/^no-restricted-properties: 'Math.random'/),
      expect.stringMatching(/^no-restricted-globals: Unexpected use of 'setInterval'/),
    ]);
  });

  it('allows them in the two exempt files, and in tests', async () => {
    expect(await purityErrors('libs/flows/src/shared/system-sources.ts', IMPURE)).toEqual([]);
    expect(await purityErrors('libs/flows/src/shared/timers.ts', IMPURE)).toEqual([]);
    expect(await purityErrors('libs/flows/src/ingest/purity-probe.test.ts', IMPURE)).toEqual([]);
  });
});
