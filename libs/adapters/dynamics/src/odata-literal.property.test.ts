import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { odataString } from './odata-literal.js';

/** Reads an OData string literal back the way a server does: quotes delimit, '' is one quote. */
function readLiteral(text: string): { value: string; rest: string } {
  expect(text.startsWith("'")).toBe(true);
  let value = '';
  let i = 1;
  for (;;) {
    if (text[i] === "'" && text[i + 1] === "'") {
      value += "'";
      i += 2;
    } else if (text[i] === "'") return { value, rest: text.slice(i + 1) };
    else value += text[i++];
  }
}

describe('OData string literals', () => {
  it('property: any string survives as exactly one literal, with nothing after it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const read = readLiteral(odataString(value));
        expect(read).toEqual({ value, rest: '' });
      }),
    );
  });
});
