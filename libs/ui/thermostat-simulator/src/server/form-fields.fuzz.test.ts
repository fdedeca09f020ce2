import { FormFields } from './form-fields.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awkward, expectTypedAnswer, nearValid } from '@fieldlink/domain/testing';

const fieldNames = fc.constantFrom('deviceId', 'temperature', 'humidity', 'target', 'degrees', 'perMinute', 'paused', '__proto__', 'constructor', 'toString');

describe('simulator page form reader, fuzzed', () => {
  it('property: any posted object read as text, numbers and booleans gives values or typed issues, never a throw or a hang', () => {
    const body = fc.oneof(
      nearValid({ deviceId: 'thermostat-9', temperature: 64, humidity: '40', target: '62', degrees: 5, perMinute: -3, paused: true }),
      fc.dictionary(fc.oneof(fieldNames, fc.string({ maxLength: 12 })), awkward, { maxKeys: 5 }),
    );
    fc.assert(
      fc.property(
        body,
        fc.array(fc.tuple(fc.constantFrom('text', 'number', 'optionalNumber', 'boolean'), fieldNames), { minLength: 1, maxLength: 6 }),
        (posted, reads) =>
          expectTypedAnswer(() => {
            const fields = new FormFields(posted);
            for (const [how, name] of reads) {
              if (how === 'text') fields.text(name);
              else if (how === 'boolean') fields.boolean(name);
              else fields[how](name, { min: -100, max: 100 });
            }
            return fields.result(() => undefined);
          }),
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('FormFields', () => {
  it('names a value that is not a number briefly, even one nested 20,000 levels deep (printing it whole overflowed the stack)', () => {
    const fields = new FormFields({
      degrees: JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown,
      target: 'x'.repeat(1_000),
      humidity: 'lots',
      paused: { a: 1 },
    });
    fields.number('degrees');
    fields.number('target');
    fields.number('humidity');
    fields.number('paused');
    expect(fields.issues).toEqual([
      { path: 'degrees', message: 'expected a number, got a list' },
      { path: 'target', message: `expected a number, got "${'x'.repeat(40)}…"` },
      { path: 'humidity', message: 'expected a number, got "lots"' },
      { path: 'paused', message: 'expected a number, got an object' },
    ]);
  });
});
