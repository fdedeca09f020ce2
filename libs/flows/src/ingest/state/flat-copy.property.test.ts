import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatCopy } from './flat-copy.js';

describe('flatCopy', () => {
  it('property: the copy of any string equals it, lone surrogates and control characters included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (binary, text) => {
        expect(flatCopy(binary)).toBe(binary);
        expect(flatCopy(text)).toBe(text);
        expect(flatCopy(` ${text}`.slice(1))).toBe(text);
      }),
    );
  });
});
