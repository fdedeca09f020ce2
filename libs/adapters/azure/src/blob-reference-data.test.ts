import { describe, expect, it } from 'vitest';
import { parseCfsDeviceRules } from '@fieldlink/domain';
import { formatCfsDeviceRules, snapshotBlobName } from './blob-reference-data.js';

describe('the CFS reference data layout', () => {
  it('names a snapshot by its UTC minute: devicerules/{yyyy-MM-dd}/{HH-mm}/devicerules.json', () => {
    expect(snapshotBlobName('devicerules/', Date.parse('2026-01-05T07:09:00Z'), 'devicerules.json')).toBe('devicerules/2026-01-05/07-09/devicerules.json');
  });

  it('writes rules as devicerules.json that the domain reads back unchanged', () => {
    const rules = [
      { deviceType: 'Thermostat', readingType: 'Temperature', threshold: 70, ruleOutput: 'AlarmTemp' },
      { deviceType: 'Thermostat', readingType: 'Humidity', threshold: 60, ruleOutput: 'AlarmHumidity' },
      { deviceType: 'Chiller', readingType: 'Pressure', threshold: 5.5, ruleOutput: 'AlarmPressure' },
    ];
    const document = formatCfsDeviceRules(rules);
    expect(document[0]).toEqual({
      DeviceType: 'Thermostat',
      Temperature: 70,
      TemperatureRuleOutput: 'AlarmTemp',
      Humidity: 60,
      HumidityRuleOutput: 'AlarmHumidity',
    });
    expect(parseCfsDeviceRules(JSON.parse(JSON.stringify(document)))).toEqual({ ok: true, value: rules });
  });
});
