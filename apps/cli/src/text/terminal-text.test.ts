import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { terminalSafe, terminalSafeFields } from './terminal-text.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

describe('terminalSafe', () => {
  it('shows escape sequences, bells, C1 controls and bidirectional overrides as visible escapes', () => {
    expect(terminalSafe('a\u001b[2Jb\u0007\u009b31m\u202eevil\r\n')).toBe('a\\x1b[2Jb\\x07\\x9b31m\\u202eevil\\x0d\\x0a');
    expect(terminalSafe('thermostat-1 86.0 °C ✓')).toBe('thermostat-1 86.0 °C ✓');
  });

  it('property: the result of any string holds no control character, and text without any is unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const safe = terminalSafe(s);
        expect(safe).not.toMatch(CONTROL);
        if (!CONTROL.test(s)) expect(safe).toBe(s);
      }),
    );
  });
});

describe('terminalSafeFields', () => {
  it('escapes strings in values, nested arrays and objects and in keys, and returns the same object when nothing needs it', () => {
    const fields = { deviceId: 'x\u001b]0;t\u0007', n: 3, nested: { list: ['\u009b2J', 1] }, ['k\u001b']: 'v' };
    expect(terminalSafeFields(fields)).toEqual({ deviceId: 'x\\x1b]0;t\\x07', n: 3, nested: { list: ['\\x9b2J', 1] }, ['k\\x1b']: 'v' });
    const clean = { deviceId: 'thermostat-1', n: 1 };
    expect(terminalSafeFields(clean)).toBe(clean);
  });
});
