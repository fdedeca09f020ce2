import { readFileSync } from 'node:fs';
import { envNameOf, SETTINGS } from '@fieldlink/composition';
import { describe, expect, it } from 'vitest';

describe('apps/cli/README.md', () => {
  it('documents every setting of the configuration with its environment variable', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const missing = SETTINGS.filter((s) => !readme.includes(`| \`${s.path}\` | \`${envNameOf(s.path)}\` |`)).map((s) => s.path);
    expect(missing).toEqual([]);
  });
});
