import { describe, expect, it } from 'vitest';
import { alertCells, alertsTable } from '../commands/rules-test.js';
import type { OfflineAlert } from './offline-rules.js';
import { BadLineReport, memorySink, StreamingJsonArray, StreamingTable } from './streamed-output.js';

const alert = (i: number): OfflineAlert => ({
  time: '2026-11-28T09:00:00.000Z',
  deviceId: `thermostat-${i % 7}`,
  readingType: 'Temperature',
  reading: 80 + (i % 10),
  threshold: 70,
  ruleOutput: 'AlarmTemp',
  eventToken: `token-${i}`,
});

describe('StreamingTable', () => {
  it('writes 200,000 rows (past where spreading them into Math.max overflowed the stack), aligned by the first rows, then the summary', async () => {
    const out = memorySink();
    const table = alertsTable('cfs', out.sink);
    for (let i = 0; i < 200_000; i++) await table.row(alertCells('cfs', alert(i)));
    await table.end('200,000 alerts');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 200_000 + 2);
    expect(lines[0]).toMatch(/^time\s+device\s+reading\s+value\s+threshold\s+rule output\s+event token$/);
    expect(lines[2]).toBe('2026-11-28T09:00:00.000Z  thermostat-0  Temperature     80         70  AlarmTemp    token-0');
    expect(lines.at(-3)).toBe('2026-11-28T09:00:00.000Z  thermostat-2  Temperature     89         70  AlarmTemp    token-199999');
    expect(lines.at(-1)).toBe('200,000 alerts');
  });

  it('writes nothing but the summary when there are no rows, and holds at most the sample of rows before writing', async () => {
    const empty = memorySink();
    await new StreamingTable(['a'], empty.sink).end('0 alerts');
    expect(empty.text()).toBe('0 alerts\n');
    const out = memorySink();
    const table = new StreamingTable(['a', 'b'], out.sink, new Set(), 3);
    await table.row(['1', '2']);
    await table.row(['1', '2']);
    expect(out.text()).toBe('');
    await table.row(['1', '2']);
    expect(out.text().split('\n')).toHaveLength(6);
  });

  it('escapes control characters in cells, so a recorded token cannot drive the terminal', async () => {
    const out = memorySink();
    const table = new StreamingTable(['token'], out.sink);
    await table.row(['\u001b]0;owned\u0007\u001b[2J\u009b31m']);
    await table.end('1 alert');
    expect(out.text()).toContain('\\x1b]0;owned\\x07\\x1b[2J\\x9b31m');
    expect(out.text()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('StreamingJsonArray', () => {
  it('writes one JSON document with the head, every item in order and the tail, C1 controls escaped', async () => {
    const out = memorySink();
    const json = new StreamingJsonArray(out.sink, 'alerts', { rulesFormat: 'cfs' });
    for (let i = 0; i < 3; i++) await json.item(alert(i));
    await json.item({ token: '\u009b2J' });
    await json.end({ lines: 4, badLines: [{ line: 9, path: '(line)', message: 'x' }] });
    expect(out.text()).not.toContain('\u009b');
    expect(JSON.parse(out.text())).toEqual({
      rulesFormat: 'cfs',
      alerts: [alert(0), alert(1), alert(2), { token: '\u009b2J' }],
      lines: 4,
      badLines: [{ line: 9, path: '(line)', message: 'x' }],
    });
    const empty = memorySink();
    await new StreamingJsonArray(empty.sink, 'alerts', {}).end({ lines: 0 });
    expect(JSON.parse(empty.text())).toEqual({ alerts: [], lines: 0 });
  });
});

describe('BadLineReport', () => {
  it('prints and keeps the first n bad lines, counts the rest and says so, whatever their number', async () => {
    const err = memorySink();
    const report = new BadLineReport('t.jsonl', 2, err.sink);
    for (let i = 1; i <= 100_000; i++) await report.add({ line: i, path: '(line)', message: 'is not JSON' });
    await report.end();
    expect(report.kept).toEqual([
      { line: 1, path: '(line)', message: 'is not JSON' },
      { line: 2, path: '(line)', message: 'is not JSON' },
    ]);
    expect(report.omittedCount).toBe(99_998);
    expect(err.text()).toBe(
      't.jsonl:1: (line): is not JSON\nt.jsonl:2: (line): is not JSON\n… and 99,998 more bad line issues not shown (--max-bad-lines 2)\n',
    );
  });
});
