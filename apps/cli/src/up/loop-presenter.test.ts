import { TerminalLog } from '@fieldlink/composition';
import type { LogFields, LogPort } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { LoopPresenter } from './loop-presenter.js';

describe('LoopPresenter', () => {
  it('prints what a device or a page sent with its control bytes escaped, in text and in JSON', () => {
    for (const json of [false, true]) {
      const lines: string[] = [];
      const presenter = new LoopPresenter(new TerminalLog((l) => lines.push(l), { json }), { verbose: true, getAlert: async () => undefined });
      presenter.onFeedEvent({
        seq: 1,
        time: 0,
        level: 'warn',
        event: 'telemetry.rejected',
        fields: { deviceId: 'evil\u001b]0;owned\u0007', description: 'Temperature: \u009b2J\u001b[31m', issues: ['\u001b[2J'] },
      });
      presenter.onFleetEvent({ type: 'command-received', deviceId: 'd\u001b[1m', command: 'Set Values' } as never);
      presenter.onFleetEvent({ type: 'telemetry-sent', deviceId: 'd\u001b[1m', eventToken: 't', temperature: 1, humidity: 2 });
      const out = lines.join('\n');
      expect(out).toMatch(/evil\\+x1b\]0;owned\\+x07/);
      expect(out).toMatch(/\\+x9b2J\\+x1b\[31m/);
      expect(out).toMatch(/d\\+x1b\[1m/);
      expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
  });

  it('keeps fields without control characters as they were', () => {
    const seen: Array<[string, LogFields | undefined]> = [];
    const out: LogPort = { info: (e, f) => seen.push([e, f]), warn: (e, f) => seen.push([e, f]), error: (e, f) => seen.push([e, f]) };
    new LoopPresenter(out, { verbose: true, getAlert: async () => undefined }).onFeedEvent({
      seq: 1,
      time: 0,
      level: 'info',
      event: 'alert.raised',
      fields: { correlationId: 'abc', deviceId: 'thermostat-1', reading: 86 },
    });
    expect(seen).toEqual([['alert.raised', { correlationId: 'abc', deviceId: 'thermostat-1', reading: 86 }]]);
  });
});
