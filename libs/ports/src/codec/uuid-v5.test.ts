import { describe, expect, it } from 'vitest';
import { uuidV5 } from './uuid-v5.js';

/** The DNS namespace of RFC 9562 section 6.6 (and RFC 4122 appendix C). */
const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  it('gives the UUIDv5 of the RFC 9562 appendix A.4 example (DNS namespace, "www.example.com")', () => {
    expect(uuidV5(NAMESPACE_DNS, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('reads the namespace in any letter case and always writes lower case', () => {
    expect(uuidV5(NAMESPACE_DNS.toUpperCase(), 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('hashes the name as UTF-8, so names differing only in case or accent give different ids', () => {
    const ids = new Set(['thermo-1', 'THERMO-1', 'thermo-1\u0301', 'thérmo-1'].map((name) => uuidV5(NAMESPACE_DNS, name)));
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a namespace that is not a GUID, naming it', () => {
    expect(() => uuidV5('not-a-guid', 'x')).toThrow(/namespace must be a GUID, got 'not-a-guid'/);
  });
});
