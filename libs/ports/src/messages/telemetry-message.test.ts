import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeTelemetry } from './telemetry-message.js';

const fixture = readFileSync(new URL('../../../../fixtures/cfs/telemetry.thermostat.json', import.meta.url));

describe('decodeTelemetry', () => {
  it('reads the CFS thermostat message, with the enqueued time as event time', () => {
    expect(decodeTelemetry(new Uint8Array(fixture), 1_000)).toEqual({
      ok: true,
      value: { deviceId: 'thermostat-1', eventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01', enqueuedTime: 1_000, readings: { Temperature: 86, Humidity: 41 } },
    });
  });

  it('carries unknown fields along and reads other numeric fields as readings', () => {
    const result = decodeTelemetry(JSON.stringify({ DeviceID: 'chiller-1', EventToken: 'e', Pressure: 5, Firmware: '1.2' }), 0);
    expect(result.ok && result.value.readings).toEqual({ Pressure: 5 });
  });

  it('names the field that is wrong', () => {
    expect(decodeTelemetry(JSON.stringify({ DeviceID: 'thermostat 1', EventToken: 'e', Temperature: 'hot' }), 0)).toEqual({
      ok: false,
      error: [
        { path: 'DeviceID', message: 'expected an IoT Hub device id' },
        { path: 'Temperature', message: 'Invalid input: expected number, received string' },
      ],
    });
  });

  it('refuses a byte-order mark, invalid UTF-8 and invalid JSON at path "body"', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{}')]);
    expect(decodeTelemetry(bom, 0)).toMatchObject({ ok: false, error: [{ path: 'body', message: expect.stringContaining('byte-order mark') }] });
    expect(decodeTelemetry(new Uint8Array([0x7b, 0xff, 0x7d]), 0)).toMatchObject({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
    expect(decodeTelemetry('{"DeviceID":', 0)).toMatchObject({ ok: false, error: [{ path: 'body', message: expect.stringContaining('is not JSON') }] });
  });

  it('refuses a message over the 256 KB device-to-cloud limit', () => {
    expect(decodeTelemetry(new Uint8Array(256 * 1024 + 1), 0)).toMatchObject({ ok: false, error: [{ path: 'body', message: expect.stringContaining('at most 262144') }] });
  });
});
