import { decodeTelemetry, encodeTelemetry, telemetryFromJson, type TelemetryMessage } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hubDeviceIdArbitrary,
  invalidUtf8Arbitrary,
  jsonNumberArbitrary,
  mutationArbitrary,
  withByteOrderMark,
  withInvalidUtf8,
  type FieldSpec,
} from './mutations.js';

const FIELDS: FieldSpec[] = [
  { name: 'DeviceID', type: 'string', required: true, maxLength: 128 },
  { name: 'EventToken', type: 'string', required: true, maxLength: 128 },
  { name: 'Temperature', type: 'number', required: false },
  { name: 'Humidity', type: 'number', required: false },
];

const telemetryArbitrary: fc.Arbitrary<TelemetryMessage> = fc.record(
  {
    DeviceID: hubDeviceIdArbitrary,
    EventToken: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 128 })),
    Temperature: jsonNumberArbitrary,
    Humidity: jsonNumberArbitrary,
    Firmware: fc.string(),
  },
  { requiredKeys: ['DeviceID', 'EventToken'] },
);

describe('telemetry message (flows 1–2)', () => {
  it('any valid message survives encode then decode unchanged: device, token and every reading', () => {
    fc.assert(
      fc.property(telemetryArbitrary, fc.integer({ min: 0, max: 4_102_444_800_000 }), (message, enqueuedTime) => {
        const decoded = decodeTelemetry(encodeTelemetry(message), enqueuedTime);
        const readings: Record<string, number> = {};
        if (message.Temperature !== undefined) readings['Temperature'] = message.Temperature;
        if (message.Humidity !== undefined) readings['Humidity'] = message.Humidity;
        expect(decoded).toEqual({ ok: true, value: { deviceId: message.DeviceID, eventToken: message.EventToken, enqueuedTime, readings } });
      }),
    );
  });

  it('any missing field, wrong type, extra nesting, oversized string, NaN or infinity is refused with an issue naming that field, never thrown', () => {
    fc.assert(
      fc.property(telemetryArbitrary, mutationArbitrary(FIELDS), (message, mutation) => {
        const result = telemetryFromJson(mutation.apply(message as Record<string, unknown>), 0);
        expect(result.ok, `${mutation.kind} of ${mutation.field} was accepted`).toBe(false);
        if (!result.ok) expect(result.error.map((e) => e.path)).toContain(mutation.field);
      }),
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in the body is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(telemetryArbitrary, invalidUtf8Arbitrary, (message, bad) => {
        const json = new TextDecoder().decode(encodeTelemetry(message));
        expect(decodeTelemetry(withByteOrderMark(json), 0)).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeTelemetry(withInvalidUtf8(json, bad), 0)).toMatchObject({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
      }),
    );
  });

  it('any text at all decodes to a result, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 64 })), (body) => {
        const result = decodeTelemetry(body, 0);
        if (!result.ok) for (const issue of result.error) expect(issue.path.length).toBeGreaterThan(0);
      }),
    );
  });
});
