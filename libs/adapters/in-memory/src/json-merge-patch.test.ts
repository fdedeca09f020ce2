import { describe, expect, it } from 'vitest';
import { applyMergePatch, withoutNulls } from './json-merge-patch.js';

describe('applyMergePatch', () => {
  it('merges nested objects, removes keys set to null and replaces arrays (RFC 7386)', () => {
    const target = { a: 1, b: { c: 2, d: 3 }, list: [1, 2] };
    expect(applyMergePatch(target, { b: { c: null, e: 4 }, list: [3], a: null, f: { g: 5 } })).toEqual({ b: { d: 3, e: 4 }, list: [3], f: { g: 5 } });
    expect(target).toEqual({ a: 1, b: { c: 2, d: 3 }, list: [1, 2] });
  });

  it('replaces a scalar with an object and an object with a scalar', () => {
    expect(applyMergePatch({ a: 1, b: { c: 1 } }, { a: { x: 1 }, b: 2 })).toEqual({ a: { x: 1 }, b: 2 });
  });

  it('drops nulls from a full document', () => {
    expect(withoutNulls({ a: null, b: { c: null, d: 1 } })).toEqual({ b: { d: 1 } });
  });
});
