import { decodeCommandPayload, encodeCommandPayload } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidUtf8Arbitrary, withByteOrderMark, withInvalidUtf8 } from './mutations.js';

const numberAsText = fc.integer({ min: -100, max: 200 }).map(String);
const payloadArbitrary = fc.oneof(
  fc.constant({ CommandName: 'Reset Thermostat', Parameters: {} }),
  fc
    .string({ minLength: 1, maxLength: 200 })
    .filter((m) => m.trim() !== '')
    .map((Message) => ({ CommandName: 'Notification', Parameters: { Message } })),
  fc
    .record({ Temperature: numberAsText, Humidity: numberAsText }, { requiredKeys: [] })
    .map((Reading) => ({ CommandName: 'Set Values', Parameters: { Reading } })),
  // The schema trims CommandName (a lossy normalisation), so a valid name here has no surrounding blanks.
  fc.record({
    CommandName: fc.string({ minLength: 1, maxLength: 100 }).filter((n) => n.trim() !== '' && n.trim() === n),
    // `__proto__` is refused (next test); any other key is a valid parameter name.
    Parameters: fc.dictionary(
      fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'),
      fc.jsonValue(),
      { maxKeys: 4 },
    ),
  }),
);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('command payload (msdyn_message, flows 12–19)', () => {
  it('any valid payload survives encode then decode unchanged, as msdyn_message text and as a cloud-to-device body', () => {
    fc.assert(
      fc.property(payloadArbitrary, (payload) => {
        const text = encodeCommandPayload(payload);
        expect(decodeCommandPayload(text)).toEqual({ ok: true, value: JSON.parse(text) });
        expect(decodeCommandPayload(bytes(text))).toEqual({ ok: true, value: JSON.parse(text) });
      }),
    );
  });

  it('a payload or its parameters with a "__proto__" key is refused naming where it stands, not read with the key dropped', () => {
    const refused = (text: string) => decodeCommandPayload(text);
    expect(refused('{"CommandName":"!","Parameters":{"__proto__":false}}')).toEqual({
      ok: false,
      error: [{ path: 'Parameters.__proto__', message: 'has the key "__proto__", which a payload may not use' }],
    });
    expect(refused('{"CommandName":"Set Values","Parameters":{},"__proto__":{"polluted":true}}')).toEqual({
      ok: false,
      error: [{ path: '__proto__', message: 'has the key "__proto__", which a payload may not use' }],
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a missing, wrong-typed or nested CommandName or Parameters is refused naming that field, never thrown', () => {
    const mutation = fc.oneof(
      fc
        .constantFrom('CommandName', 'Parameters')
        .map((field) => ({ field, apply: (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== field)) })),
      fc
        .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(['Reset Thermostat']), fc.constant({ name: 'Reset Thermostat' }))
        .map((v) => ({ field: 'CommandName', apply: (p: Record<string, unknown>) => ({ ...p, CommandName: v }) })),
      fc
        .oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant([{}]))
        .map((v) => ({ field: 'Parameters', apply: (p: Record<string, unknown>) => ({ ...p, Parameters: v }) })),
    );
    fc.assert(
      fc.property(payloadArbitrary, mutation, (payload, m) => {
        const result = decodeCommandPayload(JSON.stringify(m.apply(payload)));
        expect(result.ok, `${m.field} mutation was accepted`).toBe(false);
        if (!result.ok) expect(result.error.map((e) => e.path)).toContain(m.field);
      }),
    );
  });

  it('an oversized payload is refused at path "body", as text and as bytes, never thrown', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8193, max: 80_000 }), (n) => {
        const text = encodeCommandPayload({ CommandName: 'Notification', Parameters: { Message: 'x'.repeat(n) } });
        expect(decodeCommandPayload(text)).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeCommandPayload(bytes(text))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
      }),
      { numRuns: 20 },
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in the body is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(payloadArbitrary, invalidUtf8Arbitrary, (payload, bad) => {
        const text = encodeCommandPayload(payload);
        expect(decodeCommandPayload(withByteOrderMark(text))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeCommandPayload(withInvalidUtf8(text, bad))).toMatchObject({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
      }),
    );
  });
});
