import { readFileSync } from 'node:fs';
import { decodeRemoteExecutionContext, encodeRemoteExecutionContext, ENVELOPE_STRING_MAX } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidUtf8Arbitrary, withByteOrderMark, withInvalidUtf8 } from './mutations.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../fixtures/cfs/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const FIXTURES = ['remote-execution-context.create-command.json', 'remote-execution-context.register-devices.json'].map(fixture);
const contextArbitrary = fc
  .record({
    base: fc.constantFrom(...FIXTURES),
    correlationId: fc.uuid(),
    depth: fc.integer({ min: 1, max: 8 }),
    organizationName: fc.string({ minLength: 1, maxLength: 40 }),
    operationCreatedOn: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  })
  .map(({ base, correlationId, depth, organizationName, operationCreatedOn }) => ({
    ...base,
    CorrelationId: correlationId,
    Depth: depth,
    OrganizationName: organizationName,
    OperationCreatedOn: `/Date(${operationCreatedOn})/`,
  }));

describe('Dataverse RemoteExecutionContext (flow 13)', () => {
  it('any context built from the CFS examples survives decode, encode, decode unchanged', () => {
    fc.assert(
      fc.property(contextArbitrary, (context) => {
        const first = decodeRemoteExecutionContext(JSON.stringify(context));
        expect(first.ok).toBe(true);
        if (!first.ok) return;
        expect(decodeRemoteExecutionContext(encodeRemoteExecutionContext(first.value))).toEqual(first);
      }),
    );
  });

  it('a missing, wrong-typed or nested MessageName or PrimaryEntityName, or a non-list InputParameters, is refused naming that field, never thrown', () => {
    const mutation = fc.oneof(
      fc
        .constantFrom('MessageName', 'PrimaryEntityName')
        .map((field) => ({ field, apply: (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== field)) })),
      fc
        .tuple(
          fc.constantFrom('MessageName', 'PrimaryEntityName'),
          fc.oneof(fc.integer(), fc.boolean(), fc.constant(['Create']), fc.constant({ value: 'Create' })),
        )
        .map(([field, v]) => ({ field, apply: (c: Record<string, unknown>) => ({ ...c, [field]: v }) })),
      fc
        .oneof(fc.string(), fc.integer(), fc.constant({ key: 'Target' }))
        .map((v) => ({ field: 'InputParameters', apply: (c: Record<string, unknown>) => ({ ...c, InputParameters: v }) })),
    );
    fc.assert(
      fc.property(contextArbitrary, mutation, (context, m) => {
        const result = decodeRemoteExecutionContext(JSON.stringify(m.apply(context)));
        expect(result.ok, `${m.field} mutation was accepted`).toBe(false);
        if (!result.ok) expect(result.error.map((e) => e.path).some((p) => p === m.field || p.startsWith(`${m.field}.`))).toBe(true);
      }),
    );
  });

  it('an oversized name or id, or a non-finite number where a name belongs, is refused naming that field, never thrown', () => {
    const field = fc.constantFrom('MessageName', 'PrimaryEntityName', 'PrimaryEntityId', 'OrganizationName', 'CorrelationId');
    const badValue = fc.oneof(
      fc.integer({ min: ENVELOPE_STRING_MAX + 1, max: 100_000 }).map((n) => 'x'.repeat(n)),
      // NaN and the infinities cannot travel in JSON: they arrive as null, which a required name refuses too.
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
    );
    fc.assert(
      fc.property(contextArbitrary, field, badValue, (context, f, v) => {
        const result = decodeRemoteExecutionContext(JSON.stringify({ ...context, [f]: v }));
        const required = f === 'MessageName' || f === 'PrimaryEntityName';
        if (typeof v === 'number' && !required) return; // an optional name sent as null is absent, not wrong
        expect(result.ok, `${f} mutation was accepted`).toBe(false);
        if (!result.ok) expect(result.error.map((e) => e.path)).toContain(f);
      }),
      { numRuns: 200 },
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in the body is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(contextArbitrary, invalidUtf8Arbitrary, (context, bad) => {
        const json = JSON.stringify(context);
        expect(decodeRemoteExecutionContext(withByteOrderMark(json))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
        expect(decodeRemoteExecutionContext(withInvalidUtf8(json, bad))).toMatchObject({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
      }),
    );
  });

  it('any JSON at all decodes to a result, never an exception', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void decodeRemoteExecutionContext(JSON.stringify(value) ?? 'null')));
  });
});
