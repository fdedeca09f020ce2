import { describe, expect, it } from 'vitest';
import { deterministicGuid } from './deterministic-id.js';

describe('deterministicGuid', () => {
  it('gives the same version-5 GUID for the same natural key, and different ones otherwise', () => {
    const a = deterministicGuid('msdyn_iotalert', '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicGuid('msdyn_iotalert', '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01')).toBe(a);
    expect(deterministicGuid('incident', '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01')).not.toBe(a);
    expect(deterministicGuid('msdyn_iotalert', '6F2C1A2E-58b4-4c4b-9d1e-3e1c2b7a9f01')).not.toBe(a);
  });

  it('keeps the ids of records already created: the same natural key gives the id it always gave', () => {
    expect(deterministicGuid('msdyn_iotalert', '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01')).toBe('7a72730c-ffc4-54d2-b57b-7433afcc5eee');
    expect(deterministicGuid('incident', 'x')).toBe('b459d326-8b14-594c-bfcf-ddd5b3a00441');
  });
});
