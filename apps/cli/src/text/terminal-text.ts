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

/** Log fields with every string value made terminal-safe (nested values are printed as JSON, which escapes C0 but not C1 controls). */
export function terminalSafeFields<T extends Readonly<Record<string, unknown>>>(fields: T): T {
  let changed: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    const safe = typeof value === 'string' ? terminalSafe(value) : value;
    if (safe !== value) (changed ??= { ...fields })[key] = safe;
  }
  return (changed ?? fields) as T;
}
