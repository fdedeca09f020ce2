import { describe, expect, it } from 'vitest';
import { TerminalLog } from './terminal-log.js';

describe('TerminalLog', () => {
  it('leaves out a field whose value is undefined, in the text form as in the JSON form', () => {
    const lines: string[] = [];
    const text = new TerminalLog((l) => void lines.push(l));
    const json = new TerminalLog((l) => void lines.push(l), { json: true });
    for (const log of [text, json]) log.warn('queue.message-abandoned', { correlationId: undefined, queue: 'alerts', heldMs: undefined, deliveryCount: 2 });
    expect(lines[0]).toMatch(/queue\.message-abandoned\s+queue=alerts deliveryCount=2$/);
    expect(JSON.parse(lines[1]!)).toEqual({ time: expect.any(String), level: 'warn', event: 'queue.message-abandoned', queue: 'alerts', deliveryCount: 2 });
    expect(lines.join('\n')).not.toContain('undefined');
  });
});
