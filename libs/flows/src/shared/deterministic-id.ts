// Shared by the flows: name-based ids, the same on every retry.
import { uuidV5 } from '@fieldlink/ports';

/** The namespace of Fieldlink's name-based ids (a fixed random GUID). */
const FIELDLINK_NAMESPACE = 'a3c1f5e2-6b7d-4e8f-9a0b-1c2d3e4f5a6b';

/**
 * A GUID made from a name (version 5, `uuidV5`) in Fieldlink's namespace, the parts joined by NUL:
 * the same name gives the same id, so a flow that runs again after a failure creates the same
 * record rather than a second one.
 */
export function nameBasedGuid(...parts: readonly string[]): string {
  return uuidV5(FIELDLINK_NAMESPACE, parts.join('\u0000'));
}
