import { decodeCfsAlertMessage } from './cfs-alert-message.js';
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
const bytes = fc.oneof(fc.uint8Array({ maxLength: 4_096 }), fc.string({ unit: 'binary', maxLength: 2_000 }).map((s) => new TextEncoder().encode(s)), deepText.map((t) => new TextEncoder().encode(t)));
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

describe('alerts-queue message reader (flow 6), fuzzed', () => {
  const valid = { deviceid: 'thermostat-1', readingtype: 'Temperature', reading: 86.0, eventtoken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01', threshold: 70.0, ruleoutput: 'AlarmTemp', time: '2026-11-28T09:15:02.113Z' };
  it('property: any bytes as a queue message body give alerts or typed issues, never a throw or a hang', () => {
    fc.assert(fc.property(bytes, (body) => expectTypedAnswer(() => decodeCfsAlertMessage(body))), { numRuns: 300 });
  });
  it('property: any JSON, and arrays of near-valid elements, give alerts or typed issues, never a throw or a hang', () => {
    fc.assert(fc.property(fc.oneof(fc.json({ maxDepth: 5 }), deepText), (text) => expectTypedAnswer(() => decodeCfsAlertMessage(text))), { numRuns: 300 });
    fc.assert(fc.property(fc.oneof(awkward, fc.array(fc.oneof(nearValid(valid), awkward), { maxLength: 5 })), (value) => {
      let body: string;
      try {
        body = JSON.stringify(value) ?? 'null';
      } catch {
        return; // deeper than JSON.stringify goes: no sender can send it either; the deep text above covers it
      }
      expectTypedAnswer(() => decodeCfsAlertMessage(body));
    }), { numRuns: 500 });
  });
});
