import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJsonBody } from './json-body.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What a strict UTF-8 decoder and JSON.parse make of the bytes: the behaviour decodeJsonBody must keep, whatever it does to be fast. */
function strictly(bytes: Uint8Array): 'invalid UTF-8' | 'byte-order mark' | 'not JSON' | { value: unknown } {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return 'invalid UTF-8';
  }
  if (text.charCodeAt(0) === 0xfeff) return 'byte-order mark';
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return 'not JSON';
  }
}

function outcome(bytes: Uint8Array): ReturnType<typeof strictly> {
  const decoded = decodeJsonBody(bytes);
  if (decoded.ok) return { value: decoded.value };
  const message = decoded.error[0]!.message;
  if (message === 'is not valid UTF-8') return 'invalid UTF-8';
  if (message.includes('byte-order mark')) return 'byte-order mark';
  return 'not JSON';
}

const encoder = new TextEncoder();
/** JSON text of any value (U+FFFD and other non-ASCII text included), its bytes cut or changed here and there. */
const bodies = fc
  .tuple(
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.constantFrom('', '\uFFFD', '\uFEFF', 'é', '😀'),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    fc.nat(),
  )
  .map(([json, prefix, changes, cut]) => {
    const bytes = encoder.encode(prefix + json);
    for (const [at, byte] of changes) if (bytes.length > 0) bytes[at % bytes.length] = byte;
    return cut % 4 === 0 && bytes.length > 0 ? bytes.subarray(0, cut % bytes.length) : bytes;
  });

describe('decodeJsonBody (properties)', () => {
  it('accepts and refuses exactly what a strict UTF-8 decoder and JSON.parse do, for any bytes', () => {
    fc.assert(
      fc.property(bodies, (bytes) => {
        expect(outcome(bytes)).toEqual(strictly(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives the same for any random bytes as the strict decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        expect(outcome(bytes)).toEqual(strictly(bytes));
      }),
    );
  });
});
