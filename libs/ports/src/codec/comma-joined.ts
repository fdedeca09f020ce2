import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

/**
 * Splits text on the commas that are not inside a JSON string, object or array:
 * `{"a":"x,y"},{"b":[1,2]}` gives two parts. Brackets and quotes are only tracked, not checked;
 * each part is parsed on its own afterwards, so a malformed part is reported by its index.
 */
export function splitTopLevelCommas(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Plain comma-separated values (ids, names), trimmed; empty text gives no values. */
export const splitCommaList = (text: string): string[] => (text.trim() === '' ? [] : text.split(',').map((s) => s.trim()));

/**
 * Reads comma-joined JSON objects (`{"site":"lobby"},{"site":"roof"}`): one object per part,
 * `undefined` for an empty part or `null`. Issues name the part by its index under `path`.
 */
export function parseCommaJoinedObjects(
  text: string,
  path: ReadonlyArray<string | number>,
): Result<Array<Record<string, unknown> | undefined>, ValidationIssue[]> {
  if (text.trim() === '') return ok([]);
  const issues: ValidationIssue[] = [];
  const values = splitTopLevelCommas(text).map((part, index) => {
    const trimmed = part.trim();
    if (trimmed === '' || trimmed === 'null') return undefined;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
      issues.push(issue([...path, index], 'expected a JSON object'));
    } catch (e) {
      issues.push(issue([...path, index], `is not JSON (${(e as Error).message})`));
    }
    return undefined;
  });
  return issues.length > 0 ? err(issues) : ok(values);
}

/**
 * Locates known values in a comma-joined text whose values may themselves hold commas: from the
 * start, each value followed by its comma while they match; then from the end, each value after
 * its comma while they match. Gives, per index, the value when it was found at its place, else
 * undefined (unknown, or the text does not hold it there). Joining all known values that way
 * reproducing the text locates every one. Exact: Dataverse joins without spaces.
 */
export function alignCommaJoined(text: string, known: ReadonlyArray<string | undefined>): Array<string | undefined> {
  const n = known.length;
  const found: Array<string | undefined> = new Array<string | undefined>(n).fill(undefined);
  if (n === 0) return found;
  let start = 0;
  let firstUnmatched = n;
  for (let i = 0; i < n; i++) {
    const v = known[i];
    const last = i === n - 1;
    if (v === undefined || !(last ? text.slice(start) === v : text.startsWith(`${v},`, start))) {
      firstUnmatched = i;
      break;
    }
    found[i] = v;
    start += v.length + 1;
  }
  let end = text.length;
  for (let i = n - 1; i > firstUnmatched; i--) {
    const v = known[i];
    if (v === undefined) break;
    const first = i === 0;
    const ok = first ? text.slice(0, end) === v : end - v.length - 1 >= start && text.slice(end - v.length - 1, end) === `,${v}`;
    if (!ok) break;
    found[i] = v;
    end -= v.length + 1;
  }
  return found;
}
