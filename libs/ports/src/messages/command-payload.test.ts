import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCommandPayload, encodeCommandPayload } from './command-payload.js';

const fixtures = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/commands.json', import.meta.url), 'utf8')) as unknown[];

describe('command payload', () => {
  it('reads each CFS thermostat command and writes it back to the same JSON', () => {
    for (const fixture of fixtures) {
      const decoded = decodeCommandPayload(JSON.stringify(fixture));
      expect(decoded).toEqual({ ok: true, value: fixture });
      if (decoded.ok) expect(JSON.parse(encodeCommandPayload(decoded.value))).toEqual(fixture);
    }
  });

  it('reads a payload from UTF-8 bytes, as the device receives it', () => {
    expect(decodeCommandPayload(new TextEncoder().encode('{"CommandName":"Reset Thermostat","Parameters":{}}'))).toEqual({
      ok: true,
      value: { CommandName: 'Reset Thermostat', Parameters: {} },
    });
  });

  it('names the fields that are wrong', () => {
    expect(decodeCommandPayload('{"CommandName":"  ","Parameters":[]}')).toMatchObject({
      ok: false,
      error: [{ path: 'CommandName' }, { path: 'Parameters', message: 'expected an object of parameters' }],
    });
    expect(decodeCommandPayload('{"Parameters":{}}')).toMatchObject({ ok: false, error: [{ path: 'CommandName' }] });
  });

  it('refuses text that is not JSON, or longer than msdyn_message holds, at path "body"', () => {
    expect(decodeCommandPayload('Reset')).toMatchObject({ ok: false, error: [{ path: 'body', message: expect.stringContaining('is not JSON') }] });
    expect(decodeCommandPayload(JSON.stringify({ CommandName: 'Notification', Parameters: { Message: 'x'.repeat(8_200) } }))).toMatchObject({
      ok: false,
      error: [{ path: 'body', message: expect.stringContaining('at most 8192') }],
    });
  });
});
