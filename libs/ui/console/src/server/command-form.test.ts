import { THERMOSTAT_DEVICE_TYPE } from '@fieldlink/domain';
import { describe, expect, it } from 'vitest';
import { commandFormsOf, readCommandForm } from './command-form.js';

describe('command forms', () => {
  it('gives one field per leaf parameter of each command of the device type, with its kind and whether it is required', () => {
    expect(commandFormsOf([THERMOSTAT_DEVICE_TYPE]).get('Thermostat')).toEqual([
      { name: 'Reset Thermostat', parameters: [] },
      { name: 'Notification', parameters: [{ key: 'Message', label: 'Message', kind: 'text', required: true }] },
      {
        name: 'Set Values',
        parameters: [
          { key: 'Reading.Temperature', label: 'Temperature', kind: 'number', required: false, hint: 'a number from -50 to 150' },
          { key: 'Reading.Humidity', label: 'Humidity', kind: 'number', required: false, hint: 'a number from 0 to 100' },
        ],
      },
    ]);
  });

  it('reads the posted fields into the CFS payload, numbers as text, empty fields left out', () => {
    expect(
      readCommandForm(
        { commandName: 'Set Values', parameters: { 'Reading.Temperature': ' 30 ', 'Reading.Humidity': '' } },
        THERMOSTAT_DEVICE_TYPE,
        'Thermostat',
      ),
    ).toEqual({
      ok: true,
      value: { commandName: 'Set Values', parameters: { Reading: { Temperature: '30' } } },
    });
    expect(readCommandForm({ commandName: 'Reset Thermostat' }, THERMOSTAT_DEVICE_TYPE, 'Thermostat')).toEqual({
      ok: true,
      value: { commandName: 'Reset Thermostat', parameters: {} },
    });
  });

  it('names what is wrong: no command, an unknown one, a missing required parameter, a humidity out of range, an unknown device type', () => {
    const issues = (body: Record<string, unknown>, known = true) => {
      const r = readCommandForm(body, known ? THERMOSTAT_DEVICE_TYPE : undefined, 'Sprinkler');
      return r.ok ? [] : r.error.map((i) => `${i.path}: ${i.message}`);
    };
    expect(issues({})).toEqual(['commandName: required: choose a command']);
    expect(issues({ commandName: 'Reboot' })).toEqual([
      'CommandName: "Reboot" is not a command of Thermostat; expected one of "Reset Thermostat", "Notification", "Set Values"',
    ]);
    expect(issues({ commandName: 'Notification', parameters: { Message: '   ' } })).toEqual(['Parameters.Message: required']);
    expect(issues({ commandName: 'Set Values', parameters: { 'Reading.Humidity': '140' } })).toEqual(['Parameters.Reading.Humidity: expected at most 100']);
    expect(issues({ commandName: 'Set Values', parameters: ['30'] })).toEqual(['parameters: expected an object of field values']);
    expect(issues({ commandName: 'Open Valve' }, false)).toEqual(['commandName: the device type "Sprinkler" has no known commands']);
  });
});
