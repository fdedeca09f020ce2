import { createHash } from 'node:crypto';

/*
 * Name-based GUIDs (RFC 9562 section 5.5, version 5; formerly RFC 4122 section 4.3): SHA-1 of the
 * namespace's 16 bytes followed by the name's UTF-8 bytes, the first 16 bytes of the digest with
 * the version (5) and the variant (10xx) set. The same namespace and name always give the same id,
 * so a step that runs again after a failure addresses the record it made the first time.
 * https://www.rfc-editor.org/rfc/rfc9562#section-5.5
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The version-5 GUID of `name` in `namespace` (a GUID, in any letter case), in lower case. */
export function uuidV5(namespace: string, name: string): string {
  if (!GUID.test(namespace)) throw new TypeError(`uuidV5: the namespace must be a GUID, got '${namespace}'`);
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
