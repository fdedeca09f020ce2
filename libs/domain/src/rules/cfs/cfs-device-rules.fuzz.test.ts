import { parseCfsDeviceRules } from './cfs-device-rules.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { awkward, expectTypedAnswer, nearValid } from '../../testing/hostile-input.js';

const entry = { DeviceType: 'Thermostat', Temperature: 70.0, Humidity: null, TemperatureRuleOutput: 'AlarmTemp', HumidityRuleOutput: null };

describe('CFS devicerules.json reader, fuzzed', () => {
  it('property: any JSON value, and arrays of near-valid entries, give rules or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(awkward, fc.array(fc.oneof(nearValid(entry), awkward), { maxLength: 5 })), (document) =>
        expectTypedAnswer(() => parseCfsDeviceRules(document)),
      ),
      { numRuns: 1_000 },
    );
  });
});
