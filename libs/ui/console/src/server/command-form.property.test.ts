import { THERMOSTAT_DEVICE_TYPE, validateCommand } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { readCommandForm } from './command-form.js';

const text = fc.oneof(fc.string(), fc.constantFrom('', ' ', '30', '-4.5', '1e3', 'NaN', 'Infinity', 'warm', '101'));
const body = fc.record(
  {
    commandName: fc.oneof(fc.constantFrom('Reset Thermostat', 'Notification', 'Set Values', '', 'Reboot'), fc.string(), fc.integer()),
    parameters: fc.oneof(
      fc.dictionary(fc.constantFrom('Message', 'Reading.Temperature', 'Reading.Humidity', 'Other'), text),
      fc.constant(null),
      fc.array(text),
    ),
  },
  { requiredKeys: [] },
);

describe('command form properties', () => {
  it('never throws, and whatever it accepts is a command the domain validation accepts for the device type', () => {
    fc.assert(
      fc.property(body, (b) => {
        const read = readCommandForm(b, THERMOSTAT_DEVICE_TYPE, 'Thermostat');
        if (!read.ok) return read.error.length > 0;
        return validateCommand(THERMOSTAT_DEVICE_TYPE, { CommandName: read.value.commandName, Parameters: read.value.parameters }).ok;
      }),
      { numRuns: 500 },
    );
  });
});
