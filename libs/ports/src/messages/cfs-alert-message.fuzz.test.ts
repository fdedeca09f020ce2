import { decodeCfsAlertMessage } from './cfs-alert-message.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { awkward, bytes, deepText, expectTypedAnswer, nearValid } from '@fieldlink/domain/testing';

describe('alerts-queue message reader (flow 6), fuzzed', () => {
  const valid = {
    deviceid: 'thermostat-1',
    readingtype: 'Temperature',
    reading: 86.0,
    eventtoken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
    threshold: 70.0,
    ruleoutput: 'AlarmTemp',
    time: '2026-11-28T09:15:02.113Z',
  };
  it('property: any bytes as a queue message body give alerts or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(bytes, (body) => expectTypedAnswer(() => decodeCfsAlertMessage(body))),
      { numRuns: 300 },
    );
  });
  it('property: any JSON, and arrays of near-valid elements, give alerts or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 5 }), deepText), (text) => expectTypedAnswer(() => decodeCfsAlertMessage(text))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(awkward, fc.array(fc.oneof(nearValid(valid), awkward), { maxLength: 5 })), (value) => {
        let body: string;
        try {
          body = JSON.stringify(value) ?? 'null';
        } catch {
          return; // deeper than JSON.stringify goes: no sender can send it either; the deep text above covers it
        }
        expectTypedAnswer(() => decodeCfsAlertMessage(body));
      }),
      { numRuns: 500 },
    );
  });
});
