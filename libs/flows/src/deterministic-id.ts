import { createHash } from 'node:crypto';

/** The namespace of Fieldlink's name-based ids (a fixed random GUID). */
const FIELDLINK_NAMESPACE = 'a3c1f5e2-6b7d-4e8f-9a0b-1c2d3e4f5a6b';

/**
 * A GUID made from a name (RFC 4122 version 5): the same name gives the same id, so a flow that
 * runs again after a failure creates the same record rather than a second one.
 */
export function nameBasedGuid(...parts: readonly string[]): string {
  const namespace = Buffer.from(FIELDLINK_NAMESPACE.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(namespace).update(parts.join('\u0000'), 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
