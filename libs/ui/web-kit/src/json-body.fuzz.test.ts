import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { readJsonObject } from './json-body.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What a broken or hostile sender can send: random bytes, random JSON, deep nesting, and awkward values in the right places. */
const deepText = fc
  .integer({ min: 1, max: 20_000 })
  .chain((n) => fc.constantFrom(`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `${'['.repeat(n)}`));
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 4_096 }),
  fc.string({ unit: 'binary', maxLength: 2_000 }).map((s) => new TextEncoder().encode(s)),
  deepText.map((t) => new TextEncoder().encode(t)),
);

/** A request body as node:http hands it: chunks of bytes. */
const request = (body: Uint8Array, chunk: number): IncomingMessage => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunk) chunks.push(Buffer.from(body.subarray(i, i + chunk)));
  return Readable.from(chunks) as unknown as IncomingMessage;
};

describe('page JSON body reader, fuzzed', () => {
  it('property: any bytes, any JSON text and oversized bodies give an object or an error naming why, never a throw or a hang', async () => {
    const body = fc.oneof(
      bytes,
      fc.json({ maxDepth: 5 }).map((t) => new TextEncoder().encode(t)),
      fc.integer({ min: 60_000, max: 200_000 }).map((n) => new TextEncoder().encode(`{"a":"${'x'.repeat(n)}"}`)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 1, max: 70_000 }), async (posted, chunk) => {
        const result = await readJsonObject(request(posted, chunk));
        if (result.ok) expect(typeof result.value === 'object' && result.value !== null && !Array.isArray(result.value)).toBe(true);
        else expect(result.error).toEqual({ path: 'body', message: expect.stringMatching(/\S/) });
      }),
      { numRuns: 300 },
    );
  });
});
