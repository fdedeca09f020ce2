/**
 * Values embedded in OData URLs. Every filter or key that carries a value builds it here, so a
 * hub device id like `o'brien` stays data and never becomes query syntax.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isGuid = (value: string): boolean => GUID.test(value);

/** An OData string literal: quoted, with each `'` doubled (OData ABNF `SQUOTE-in-string`). */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A GUID literal for filters and keys; anything else is refused, so it cannot inject syntax. */
export function odataGuid(value: string): string {
  if (!isGuid(value)) throw new TypeError(`Not a GUID: ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** A DateTimeOffset literal, in whole seconds as Dataverse stores date-times. */
export function odataDateTime(epochMs: number): string {
  return toDataverseDateTime(epochMs);
}

/** `2026-11-28T09:15:02Z`: the form Dataverse returns and compares. */
export function toDataverseDateTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `column eq 'value'`, escaped. */
export const eqString = (column: string, value: string): string => `${column} eq ${odataString(value)}`;

/** `_lookup_value eq guid`. */
export const eqLookup = (lookup: string, id: string): string => `_${lookup}_value eq ${odataGuid(id)}`;
