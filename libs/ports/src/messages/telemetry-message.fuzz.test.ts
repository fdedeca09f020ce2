import { decodeTelemetry, telemetryFromJson } from './telemetry-message.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { awkward, bytes, deepText, expectTypedAnswer, nearValid } from '@fieldlink/domain/testing';

describe('telemetry message reader (flows 1–2), fuzzed', () => {
  const valid = { DeviceID: 'thermostat-1', Temperature: 86.0, Humidity: 41.0, EventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01' };
  it('property: any bytes as a message body give an event or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(bytes, (body) => expectTypedAnswer(() => decodeTelemetry(body, 0))),
      { numRuns: 300 },
    );
  });
  it('property: any JSON text, and any near-valid message, give an event or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 5 }), deepText), (text) => expectTypedAnswer(() => decodeTelemetry(text, 0))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(awkward, nearValid(valid)), (value) => expectTypedAnswer(() => telemetryFromJson(value, 0))),
      { numRuns: 500 },
    );
  });
});
