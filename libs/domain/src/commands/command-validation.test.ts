import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { THERMOSTAT_DEVICE_TYPE, type DeviceTypeDefinition } from '../devices/device-type-definition.js';
import { validateCommand, validateCommandMessage } from './command-validation.js';

const fixture = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/commands.json', import.meta.url), 'utf8')) as unknown[];

describe('validateCommand', () => {
  it('accepts the three thermostat commands CFS documents', () => {
    for (const command of fixture) expect(validateCommand(THERMOSTAT_DEVICE_TYPE, command)).toEqual({ ok: true, value: command });
  });

  it('refuses an unknown command name and bad parameters, with the path and the reason', () => {
    expect(validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: 'Explode', Parameters: {} })).toEqual({
      ok: false,
      error: [{ path: 'CommandName', message: '"Explode" is not a command of Thermostat; expected one of "Reset Thermostat", "Notification", "Set Values"' }],
    });
    expect(
      validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: 'Set Values', Parameters: { Reading: { Temperature: 30, Humidity: '130', Pressure: '1' } } }),
    ).toEqual({
      ok: false,
      error: [
        { path: 'Parameters.Reading.Pressure', message: 'not a parameter here; expected Temperature, Humidity' },
        { path: 'Parameters.Reading.Temperature', message: 'expected a number written as a string, e.g. "30"' },
        { path: 'Parameters.Reading.Humidity', message: 'expected at most 100' },
      ],
    });
    expect(validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: 'Notification', Parameters: {} })).toEqual({
      ok: false,
      error: [{ path: 'Parameters.Message', message: 'required' }],
    });
    expect(validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: 'Reset Thermostat', Parameters: { Now: true } }).ok).toBe(false);
  });

  it("accepts a set point only within the device type's range: ±1e308 and 1e309 are refused with the reason", () => {
    const setTo = (t: string) => validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: 'Set Values', Parameters: { Reading: { Temperature: t } } });
    expect(setTo('65').ok).toBe(true);
    expect(setTo('1e308')).toEqual({ ok: false, error: [{ path: 'Parameters.Reading.Temperature', message: 'expected at most 150' }] });
    expect(setTo('-1e308')).toEqual({ ok: false, error: [{ path: 'Parameters.Reading.Temperature', message: 'expected at least -50' }] });
    expect(setTo('1e309')).toEqual({
      ok: false,
      error: [{ path: 'Parameters.Reading.Temperature', message: 'expected a number written as a string, e.g. "30"' }],
    });
  });

  it('reads the msdyn_message text, and refuses text that is not JSON', () => {
    expect(validateCommandMessage(THERMOSTAT_DEVICE_TYPE, '{"CommandName":"Reset Thermostat","Parameters":{}}').ok).toBe(true);
    expect(validateCommandMessage(THERMOSTAT_DEVICE_TYPE, '{"CommandName":')).toEqual({
      ok: false,
      error: [{ path: '(root)', message: 'expected the command as JSON text' }],
    });
  });

  it('validates the commands of a device type added as data, with no change to the validator', () => {
    const chiller = JSON.parse(
      '{"name":"Chiller","readings":["Pressure"],"commands":[{"name":"Purge","parameters":{"Seconds":{"type":"numericString","min":1,"max":60}}}],"defaultRules":[]}',
    ) as DeviceTypeDefinition;
    expect(validateCommand(chiller, { CommandName: 'Purge', Parameters: { Seconds: '10' } }).ok).toBe(true);
    expect(validateCommand(chiller, { CommandName: 'Purge', Parameters: { Seconds: '90' } })).toEqual({
      ok: false,
      error: [{ path: 'Parameters.Seconds', message: 'expected at most 60' }],
    });
  });

  it('never throws on arbitrary JSON: it returns errors', () => {
    const nearly = fc.record({
      CommandName: fc.oneof(fc.constantFrom('Reset Thermostat', 'Notification', 'Set Values'), fc.jsonValue()),
      Parameters: fc.oneof(
        fc.jsonValue(),
        fc.record({ Message: fc.jsonValue(), Reading: fc.oneof(fc.jsonValue(), fc.record({ Temperature: fc.jsonValue(), Humidity: fc.jsonValue() })) }),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), nearly), (json) => {
        const result = validateCommand(THERMOSTAT_DEVICE_TYPE, json);
        if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
        expect(validateCommandMessage(THERMOSTAT_DEVICE_TYPE, JSON.stringify(json) ?? 'null').ok).toBe(result.ok);
      }),
      { numRuns: 500 },
    );
  });
});
