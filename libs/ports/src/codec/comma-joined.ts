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
export function parseCommaJoinedObjects(text: string, path: ReadonlyArray<string | number>): Result<Array<Record<string, unknown> | undefined>, ValidationIssue[]> {
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
