import { createHash } from 'node:crypto';

/**
 * A name-based GUID (RFC 9562 version 5, SHA-1) in the adapter's own namespace. Creating a record
 * under the id derived from its natural key (the alert token, "the case of alert X") makes the
 * create a guarded upsert: a redelivered message or a retried request finds the record already
 * there instead of making a second one, with no alternate key to add to the organisation.
 */
const NAMESPACE = Buffer.from('3f6b1c0e7a2d4b8e9c5d0f1a2b3c4d5e', 'hex');

export function deterministicGuid(kind: string, naturalKey: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${kind}\u0000${naturalKey}`, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
