// Hostile input for fuzz tests of every reader of outside input (messages, documents, forms):
// random bytes, random JSON, deep nesting, and awkward values in the right places. Shared by the
// `*.fuzz.test.ts` files of every layer; test code only.
import fc from 'fast-check';
import { expect } from 'vitest';

/** What a broken or hostile sender can send: random bytes, random JSON, deep nesting, and awkward values in the right places. */
export const deepText = fc
  .integer({ min: 1, max: 20_000 })
  .chain((n) => fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `${'['.repeat(n)}`));
/** What JSON.parse makes of deep text, shown by its size in a counterexample (printing it whole would overflow the stack). */
export function deepValue(text: string): unknown {
  if (!text.endsWith(']') && !text.endsWith('}')) return text;
  const value = JSON.parse(text) as object;
  Object.defineProperty(value, fc.toStringMethod, { value: () => `JSON.parse(<${text.length} characters of nesting>)` });
  return value;
}
export const awkward = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(
    null,
    '',
    ' ',
    0,
    -0,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '1e308',
    'NaN',
    'Infinity',
    '\u0000',
    '\uFEFF',
    '__proto__',
    'constructor',
    '/Date(99999999999999999)/',
    '9999-99-99T99:99:99Z',
    'x'.repeat(100_000),
  ),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown),
  deepText.map(deepValue),
);
export const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 4_096 }),
  fc.string({ unit: 'binary', maxLength: 2_000 }).map((s) => new TextEncoder().encode(s)),
  deepText.map((t) => new TextEncoder().encode(t)),
);
/** A known shape with each field either as it should be or awkward, and extra keys. */
export const nearValid = (valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(
      fc.record(Object.fromEntries(Object.entries(valid).map(([k, v]) => [k, fc.oneof(fc.constant(v), awkward)])), { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 12 }), awkward, { maxKeys: 4 }),
    )
    .map(([fields, extra]) => ({ ...extra, ...fields }));

/** The parser answered with a value or with typed issues (a path and a message each); a hang fails the test by its timeout. */
export function expectTypedAnswer(answer: () => { ok: true } | { ok: false; error: readonly { path: string; message: string }[] }): void {
  const result = answer();
  if (!result.ok) {
    expect(result.error.length).toBeGreaterThan(0);
    for (const i of result.error) expect([typeof i.path, typeof i.message]).toEqual(['string', 'string']);
  }
}
