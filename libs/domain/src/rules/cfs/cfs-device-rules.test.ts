import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCfsDeviceRules } from './cfs-device-rules.js';

const fixture = JSON.parse(readFileSync(new URL('../../../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as unknown;

describe('parseCfsDeviceRules', () => {
  it('reads the CFS devicerules.json as it is: one threshold for the thermostat temperature, none for humidity', () => {
    const result = parseCfsDeviceRules(fixture);
    expect(result).toEqual({ ok: true, value: [{ deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' }] });
  });

  it('accepts reading types other than the thermostat ones', () => {
    const result = parseCfsDeviceRules([{ DeviceType: 'Chiller', Pressure: 5.5, PressureRuleOutput: 'AlarmPressure' }]);
    expect(result.ok && result.value).toEqual([{ deviceType: 'Chiller', readingType: 'Pressure', threshold: 5.5, ruleOutput: 'AlarmPressure' }]);
  });

  it('names the path and the problem of every wrong field', () => {
    const result = parseCfsDeviceRules([{ DeviceType: 'Thermostat', Temperature: '70', TemperatureRuleOutput: 'AlarmTemp' }, { Temperature: 1 }, 7]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual([
      { path: '0.Temperature', message: 'expected a finite number or null' },
      { path: '1.DeviceType', message: 'expected a non-empty string' },
      { path: '2', message: 'expected an object' },
    ]);
  });

  it('refuses a threshold without its rule output, and a document that is not an array', () => {
    expect(parseCfsDeviceRules([{ DeviceType: 'Thermostat', Temperature: 70 }])).toEqual({
      ok: false,
      error: [{ path: '0.TemperatureRuleOutput', message: 'expected the rule output for the Temperature threshold' }],
    });
    expect(parseCfsDeviceRules({ DeviceType: 'Thermostat' })).toEqual({
      ok: false,
      error: [{ path: '(root)', message: 'expected an array of device rules, one entry per device type' }],
    });
  });
});
