import { describe, expect, it } from 'vitest';
import { nameBasedGuid } from './deterministic-id.js';

describe('nameBasedGuid', () => {
  it('keeps the ids of records already created: the same parts give the id they always gave', () => {
    expect(nameBasedGuid('msdyn_iotalert', 'tok', 'Temperature', 'out')).toBe('6d2cf0a5-0cbd-500c-9df0-81e8ddd9962b');
    expect(nameBasedGuid('local-stack', 'device', 'thermo-1')).toBe('05ed33b9-e902-5f56-8403-a73aee1f8877');
  });

  it('separates the parts, so moving text from one part to the next gives another id', () => {
    expect(nameBasedGuid('ab', 'c')).not.toBe(nameBasedGuid('a', 'bc'));
    expect(nameBasedGuid('ab', 'c')).not.toBe(nameBasedGuid('abc'));
  });
});
