import { uuidV5 } from '@fieldlink/ports';

/**
 * A name-based GUID (version 5, `uuidV5`) in the adapter's own namespace. Creating a record
 * under the id derived from its natural key (the alert token, "the case of alert X") makes the
 * create a guarded upsert: a redelivered message or a retried request finds the record already
 * there instead of making a second one, with no alternate key to add to the organisation.
 */
const NAMESPACE = '3f6b1c0e-7a2d-4b8e-9c5d-0f1a2b3c4d5e';

export function deterministicGuid(kind: string, naturalKey: string): string {
  return uuidV5(NAMESPACE, `${kind}\u0000${naturalKey}`);
}
