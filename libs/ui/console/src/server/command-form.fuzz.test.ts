import { THERMOSTAT_DEVICE_TYPE } from '@fieldlink/domain';
import { readCommandForm } from './command-form.js';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { awkward, expectTypedAnswer, nearValid } from '@fieldlink/domain/testing';

const forms = [
  { commandName: 'Set Values', parameters: { 'Reading.Temperature': '65', 'Reading.Humidity': '40' } },
  { commandName: 'Notification', parameters: { Message: 'hello' } },
  { commandName: 'Reset Thermostat', parameters: {} },
];
const parameters = fc.dictionary(
  fc.oneof(fc.constantFrom('Reading.Temperature', 'Reading.Humidity', 'Message', 'Reading', '__proto__', 'constructor'), fc.string({ maxLength: 20 })),
  awkward,
  { maxKeys: 4 },
);

describe('console command form reader, fuzzed', () => {
  it('property: any posted object, and near-valid command forms, give a command or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          ...forms.map(nearValid),
          fc.record({ commandName: fc.oneof(fc.constantFrom('Set Values', 'Notification', 'Reset Thermostat'), awkward), parameters }),
          fc.dictionary(fc.string({ maxLength: 12 }), awkward, { maxKeys: 4 }),
        ),
        fc.boolean(),
        (body, known) => expectTypedAnswer(() => readCommandForm(body, known ? THERMOSTAT_DEVICE_TYPE : undefined, 'Thermostat')),
      ),
      { numRuns: 1_000 },
    );
  });
});
