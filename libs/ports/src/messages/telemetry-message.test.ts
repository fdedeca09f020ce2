import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTelemetry, telemetryBySchema, telemetryFromJson } from './telemetry-message.js';

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
    expect(decodeTelemetry(new Uint8Array(256 * 1024 + 1), 0)).toMatchObject({
      ok: false,
      error: [{ path: 'body', message: expect.stringContaining('at most 262144') }],
    });
  });
});

describe('decodeTelemetry, names in any case', () => {
  it('reads the thermostat message with its names lower-cased (Stream Analytics, compatibility level 1.0) as it reads them in their own case', () => {
    const lower = decodeTelemetry(
      JSON.stringify({ deviceid: 'thermostat-1', eventtoken: 'e1', temperature: 86.0, humidity: 41.0, eventenqueuedutctime: '2026-11-28T09:15:02.113Z' }),
      5,
    );
    const pascal = decodeTelemetry(JSON.stringify({ DeviceId: 'thermostat-1', EventToken: 'e1', Temperature: 86.0, Humidity: 41.0 }), 5);
    const expected = { ok: true, value: { deviceId: 'thermostat-1', eventToken: 'e1', enqueuedTime: 5, readings: { Temperature: 86, Humidity: 41 } } };
    expect(lower).toEqual(expected);
    expect(pascal).toEqual(expected);
  });

  it('refuses a message that names one field twice in different case', () => {
    expect(decodeTelemetry(JSON.stringify({ DeviceID: 'thermostat-1', deviceid: 'thermostat-2', EventToken: 'e' }), 0)).toEqual({
      ok: false,
      error: [{ path: '(root)', message: 'names DeviceID/deviceid twice, in different case' }],
    });
  });

  it('names a wrong field by its canonical name whatever case it came in', () => {
    expect(decodeTelemetry(JSON.stringify({ deviceid: 'thermostat 1', eventtoken: 'e' }), 0)).toEqual({
      ok: false,
      error: [{ path: 'DeviceID', message: 'expected an IoT Hub device id' }],
    });
  });
});

describe('telemetryFromJson, the hand-checked path', () => {
  const names = fc.constantFrom(
    'DeviceID',
    'deviceid',
    'DeviceId',
    'EventToken',
    'eventtoken',
    'Temperature',
    'TEMPERATURE',
    'Humidity',
    'humidity',
    'EventEnqueuedUtcTime',
    'IoTHub',
    'Pressure',
    'Firmware',
    '__proto__',
    'constructor',
  );
  const values = fc.oneof(
    fc.constantFrom('thermostat-1', 'bad id/with slash', '', 'x'.repeat(128), 'x'.repeat(129), 'é'),
    fc.double(),
    fc.integer(),
    fc.constantFrom(null, true, undefined),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  );
  const message = fc.oneof(
    fc.record(
      {
        DeviceID: fc.constantFrom('thermostat-1', 'chiller-9'),
        EventToken: fc.string({ minLength: 1, maxLength: 130 }),
        Temperature: fc.double(),
        Humidity: fc.double(),
      },
      { requiredKeys: ['DeviceID', 'EventToken'] },
    ),
    fc.dictionary(names, values, { maxKeys: 6 }),
    fc.anything(),
  );

  it('gives, for any value, exactly what the schema gives (the event, or the same issues)', () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 0 }), (value, at) => {
        const fast = telemetryFromJson(value, at);
        const slow = telemetryBySchema(value, at);
        expect(fast).toStrictEqual(slow);
        if (fast.ok && slow.ok) expect(Object.keys(fast.value.readings)).toEqual(Object.keys(slow.value.readings));
      }),
      { numRuns: 2_000 },
    );
  });
});
