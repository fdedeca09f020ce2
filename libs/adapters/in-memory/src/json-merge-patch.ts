type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * RFC 7386 JSON merge patch, as the hub applies twin patches: objects merge key by key, `null`
 * removes a key, anything else (arrays included) replaces. Pure: neither argument is changed.
 */
export function applyMergePatch(target: Json, patch: Json): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isObject(value)) result[key] = applyMergePatch(isObject(result[key]) ? result[key] : {}, value);
    else result[key] = structuredClone(value);
  }
  return result;
}

/** A document without its `null` members, as the hub stores a full twin section. */
export const withoutNulls = (document: Json): Record<string, unknown> => applyMergePatch({}, document);
