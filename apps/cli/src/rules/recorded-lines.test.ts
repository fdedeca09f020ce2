import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRecordedLines, unreadableFile, type RecordedLine } from './recorded-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const all = async (file: string, maxLineBytes?: number): Promise<RecordedLine[]> => {
  const out: RecordedLine[] = [];
  for await (const l of readRecordedLines(file, maxLineBytes === undefined ? {} : { maxLineBytes })) out.push(l);
  return out;
};

describe('readRecordedLines', () => {
  it('numbers the lines from 1, ends a line at \\n or \\r\\n, drops a leading UTF-8 BOM and keeps multi-byte characters split across chunks', async () => {
    const file = join(dir, 'lines.jsonl');
    const long = 'é'.repeat(70_000); // 140,000 bytes: over two 64 KiB chunks, a 2-byte character on a chunk edge
    writeFileSync(file, `\uFEFFfirst\r\n\nthird ${long}\nlast`);
    expect(await all(file)).toEqual([
      { line: 1, text: 'first' },
      { line: 2, text: '' },
      { line: 3, text: `third ${long}` },
      { line: 4, text: 'last' },
    ]);
  });

  it('hands a line over the cap as too long with its size, never whole, and goes on with the next line', async () => {
    const file = join(dir, 'long.jsonl');
    writeFileSync(file, `ok\n${'x'.repeat(300_000)}\nafter\n`);
    expect(await all(file, 100_000)).toEqual([
      { line: 1, text: 'ok' },
      { line: 2, tooLong: { bytes: 300_000, max: 100_000 } },
      { line: 3, text: 'after' },
    ]);
  });
});

describe('unreadableFile', () => {
  it('says in one phrase why a directory, a missing file or a device cannot be read as a recording', async () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(await unreadableFile(sub)).toBe('is a directory, expected a file');
    expect(await unreadableFile(join(dir, 'missing.jsonl'))).toBe('does not exist');
    expect(await unreadableFile('/dev/null')).toBe('is not a regular file');
    writeFileSync(join(dir, 'fine.jsonl'), '');
    expect(await unreadableFile(join(dir, 'fine.jsonl'))).toBeUndefined();
  });
});
