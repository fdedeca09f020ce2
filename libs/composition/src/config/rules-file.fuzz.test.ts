import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { readRulesFile } from './rules-file.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, deepText, expectTypedAnswer } from '@fieldlink/domain/testing';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-rules-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rules file reader (CFS devicerules.json or a native document, JSON or YAML), fuzzed', () => {
  it('property: any bytes in a .json, .yaml or .yml rules file give rules or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes,
          fc.json({ maxDepth: 5 }).map((t) => new TextEncoder().encode(t)),
          deepText.map((t) => new TextEncoder().encode(`\uFEFF${t}`)),
        ),
        fc.constantFrom('.json', '.yaml', '.yml'),
        (content, extension) => {
          const file = join(dir, `rules${extension}`);
          writeFileSync(file, content);
          expectTypedAnswer(() => readRulesFile(file));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('property: a YAML file of aliases (a billion laughs) is refused or read, never expanded without bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), (levels, width) => {
        const lines = ['a0: &a0 ["lol"]'];
        for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
        const file = join(dir, 'laughs.yaml');
        writeFileSync(file, `${lines.join('\n')}\n`);
        expectTypedAnswer(() => readRulesFile(file));
      }),
      { numRuns: 50 },
    );
  });
});

describe('rules file nesting', () => {
  it('refuses a YAML rules file nested 20,000 brackets deep with one issue (the YAML parser ran the process out of memory)', () => {
    const file = join(dir, 'deep.yaml');
    writeFileSync(file, `${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    expect(readRulesFile(file)).toEqual({
      ok: false,
      error: [{ path: '(file)', message: 'is not valid YAML here: it nests brackets deeper than 256 levels' }],
    });
  });
});
