/**
 * C0 and C1 control characters, DEL, and the Unicode controls that reorder or hide text
 * (bidirectional overrides and isolates, zero-width marks, line/paragraph separators, BOM).
 * Written raw to a terminal they can move the cursor, clear the screen, set the window title or
 * make one text look like another.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const escapeOne = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Outside text made safe to print on a terminal: every control character as a visible `\xNN` / `\uNNNN`, the rest untouched. */
export const terminalSafe = (text: string): string => text.replace(CONTROL, escapeOne);

/** A value with every string in it made terminal-safe, however deep (arrays and plain objects are copied; other values kept). */
function safeValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return terminalSafe(value);
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => safeValue(v, depth + 1));
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return terminalSafeFields(value as Record<string, unknown>, depth + 1);
}

/** Log fields with every string in them made terminal-safe (a text log prints strings raw, and JSON escapes C0 but not C1 controls). */
export function terminalSafeFields<T extends Readonly<Record<string, unknown>>>(fields: T, depth = 0): T {
  let changed: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    const safe = safeValue(value, depth);
    const safeKey = terminalSafe(key);
    if (safe !== value || safeKey !== key) {
      changed ??= { ...fields };
      if (safeKey !== key) delete changed[key];
      changed[safeKey] = safe;
    }
  }
  return (changed ?? fields) as T;
}
