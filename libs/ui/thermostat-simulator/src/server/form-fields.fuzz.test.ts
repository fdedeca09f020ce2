import { FormFields } from './form-fields.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What a broken or hostile sender can send: random bytes, random JSON, deep nesting, and awkward values in the right places. */
const deepText = fc.integer({ min: 1, max: 20_000 }).chain((n) => fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `${'['.repeat(n)}`));
/** What JSON.parse makes of deep text, shown by its size in a counterexample (printing it whole would overflow the stack). */
function deepValue(text: string): unknown {
  if (!text.endsWith(']') && !text.endsWith('}')) return text;
  const value = JSON.parse(text) as object;
  Object.defineProperty(value, fc.toStringMethod, { value: () => `JSON.parse(<${text.length} characters of nesting>)` });
  return value;
}
const awkward = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(null, '', ' ', 0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '1e308', 'NaN', 'Infinity', '\u0000', '\uFEFF', '__proto__', 'constructor', '/Date(99999999999999999)/', '9999-99-99T99:99:99Z', 'x'.repeat(100_000)),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown),
  deepText.map(deepValue),
);
/** A known shape with each field either as it should be or awkward, and extra keys. */
const nearValid = (valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(fc.record(Object.fromEntries(Object.entries(valid).map(([k, v]) => [k, fc.oneof(fc.constant(v), awkward)])), { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), awkward, { maxKeys: 4 }))
    .map(([fields, extra]) => ({ ...extra, ...fields }));

/** The parser answered with a value or with typed issues (a path and a message each), within 2 s: a hang guard, not a speed check. */
function expectTypedAnswer(answer: () => { ok: true } | { ok: false; error: readonly { path: string; message: string }[] }): void {
  const started = performance.now();
  const result = answer();
  expect(performance.now() - started).toBeLessThan(2_000);
  if (!result.ok) {
    expect(result.error.length).toBeGreaterThan(0);
    for (const i of result.error) expect([typeof i.path, typeof i.message]).toEqual(['string', 'string']);
  }
}

const fieldNames = fc.constantFrom('deviceId', 'temperature', 'humidity', 'target', 'degrees', 'perMinute', 'paused', '__proto__', 'constructor', 'toString');

describe('simulator page form reader, fuzzed', () => {
  it('property: any posted object read as text, numbers and booleans gives values or typed issues, never a throw or a hang', () => {
    const body = fc.oneof(nearValid({ deviceId: 'thermostat-9', temperature: 64, humidity: '40', target: '62', degrees: 5, perMinute: -3, paused: true }), fc.dictionary(fc.oneof(fieldNames, fc.string({ maxLength: 12 })), awkward, { maxKeys: 5 }));
    fc.assert(
      fc.property(body, fc.array(fc.tuple(fc.constantFrom('text', 'number', 'optionalNumber', 'boolean'), fieldNames), { minLength: 1, maxLength: 6 }), (posted, reads) =>
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
    const fields = new FormFields({ degrees: JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown, target: 'x'.repeat(1_000), humidity: 'lots', paused: { a: 1 } });
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
