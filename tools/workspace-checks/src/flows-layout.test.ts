import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * libs/flows/src is grouped by the stages of the data-flow diagram (docs/flows.md), and each
 * source file opens with the flows it plays: what a reader looks for first stays true as files
 * are added.
 */
const flowsSrc = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'libs', 'flows', 'src');
const STAGES = ['ingest', 'alerts', 'automation', 'outbound', 'commands', 'registration', 'device-data', 'shared', 'testing'];

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) && !e.name.includes('.test.') ? [join(dir, e.name)] : [],
  );

describe('the flows show the diagram', () => {
  it('keeps every source file in the folder of a stage, none at the top but the index', () => {
    const outside = sources(flowsSrc)
      .map((f) => relative(flowsSrc, f))
      .filter((f) => f !== 'index.ts' && !STAGES.includes(f.split(/[\\/]/)[0]!));
    expect(outside).toEqual([]);
  });

  it('opens every service file with the flows it plays (or "Shared by the flows")', () => {
    const unnamed = sources(flowsSrc)
      .filter((f) => !relative(flowsSrc, f).startsWith('testing') && relative(flowsSrc, f) !== 'index.ts')
      .filter((f) => !/^\/\/ (Flows? [0-9]|Later CFS|Shared by the)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(flowsSrc, f));
    expect(unnamed).toEqual([]);
  });
});
