import { readFileSync } from 'node:fs';
import { decodeRemoteExecutionContext } from './remote-execution-context.js';
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

const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('RemoteExecutionContext JSON reader (flows 12–15), fuzzed', () => {
  const createCommand = fixture('remote-execution-context.create-command.json');
  const register = fixture('remote-execution-context.register-devices.json');
  /** The fixture with one of its inner values, however deep, swapped for an awkward one. */
  const mutated = (doc: unknown): fc.Arbitrary<unknown> =>
    fc.tuple(fc.nat(), awkward).map(([n, replacement]) => {
      const copy = JSON.parse(JSON.stringify(doc)) as unknown;
      const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
      const walk = (v: unknown): void => {
        if (typeof v !== 'object' || v === null) return;
        for (const [k, item] of Object.entries(v)) {
          slots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
          walk(item);
        }
      };
      walk(copy);
      const [holder, key] = slots[n % slots.length]!;
      (holder as Record<string | number, unknown>)[key] = replacement;
      return copy;
    });
  it('property: any bytes give a context or typed issues, never a throw or a hang', () => {
    fc.assert(fc.property(bytes, (body) => expectTypedAnswer(() => decodeRemoteExecutionContext(body))), { numRuns: 300 });
  });
  it('property: any JSON, and the CFS contexts with any inner value made awkward, give a context or typed issues, never a throw or a hang', () => {
    fc.assert(fc.property(fc.oneof(fc.json({ maxDepth: 5 }), deepText), (text) => expectTypedAnswer(() => decodeRemoteExecutionContext(text))), { numRuns: 300 });
    fc.assert(fc.property(fc.oneof(mutated(createCommand), mutated(register), nearValid(createCommand)), (value) => expectTypedAnswer(() => decodeRemoteExecutionContext(value as object))), { numRuns: 1_000 });
  });
});

describe('RemoteExecutionContext nesting', () => {
  it('refuses a context nested deeper than 64 levels with one issue before reading it, whatever the stack', () => {
    const deep = JSON.parse(`{"MessageName":"Create","PrimaryEntityName":"msdyn_iotdevicecommand","InputParameters":[{"key":"Target","value":${'['.repeat(50_000)}${']'.repeat(50_000)}}]}`) as object;
    expect(decodeRemoteExecutionContext(deep)).toEqual({ ok: false, error: [{ path: '(root)', message: 'nests values too deeply to be a RemoteExecutionContext' }] });
  });
});
