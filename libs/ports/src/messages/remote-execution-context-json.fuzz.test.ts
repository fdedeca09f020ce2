import { readFileSync } from 'node:fs';
import { decodeRemoteExecutionContext } from './remote-execution-context.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { awkward, bytes, deepText, expectTypedAnswer, nearValid } from '@fieldlink/domain/testing';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

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
    fc.assert(
      fc.property(bytes, (body) => expectTypedAnswer(() => decodeRemoteExecutionContext(body))),
      { numRuns: 300 },
    );
  });
  it('property: any JSON, and the CFS contexts with any inner value made awkward, give a context or typed issues, never a throw or a hang', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 5 }), deepText), (text) => expectTypedAnswer(() => decodeRemoteExecutionContext(text))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(mutated(createCommand), mutated(register), nearValid(createCommand)), (value) =>
        expectTypedAnswer(() => decodeRemoteExecutionContext(value as object)),
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('RemoteExecutionContext nesting', () => {
  it('refuses a context nested deeper than 64 levels with one issue before reading it, whatever the stack', () => {
    const deep = JSON.parse(
      `{"MessageName":"Create","PrimaryEntityName":"msdyn_iotdevicecommand","InputParameters":[{"key":"Target","value":${'['.repeat(50_000)}${']'.repeat(50_000)}}]}`,
    ) as object;
    expect(decodeRemoteExecutionContext(deep)).toEqual({
      ok: false,
      error: [{ path: '(root)', message: 'nests values too deeply to be a RemoteExecutionContext' }],
    });
  });
});
