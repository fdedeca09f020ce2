import { readFileSync } from 'node:fs';
import { envNameOf, SETTINGS } from '@fieldlink/composition';
import { describe, expect, it } from 'vitest';

describe('apps/cli/README.md', () => {
  it('documents every setting of the configuration with its environment variable', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // A table row `| \`path\` | \`ENV_NAME\` | ...`, however its columns are padded.
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const documented = (path: string): boolean => new RegExp(`^\\|\\s*\`${escape(path)}\`\\s*\\|\\s*\`${escape(envNameOf(path))}\`\\s*\\|`, 'm').test(readme);
    const missing = SETTINGS.filter((s) => !documented(s.path)).map((s) => s.path);
    expect(missing).toEqual([]);
  });
});
