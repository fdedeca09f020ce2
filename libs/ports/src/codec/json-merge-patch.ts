/*
 * JSON merge patch (RFC 7386, https://www.rfc-editor.org/rfc/rfc7386): the patch between two
 * objects, as the outbound flow turns a device record's changed tags and settings into a twin
 * patch. Applying one is the device registry's (its `updateTwin`).
 */

export type JsonObject = Record<string, unknown>;
export const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON merge patch that turns `before` into `after` (RFC 7386): removed keys become null. */
export function mergePatchBetween(before: JsonObject, after: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isJsonObject(value) && isJsonObject(old)) {
      const inner = mergePatchBetween(old, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  return patch;
}
