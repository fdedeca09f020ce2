/**
 * The text of each element of a JSON array, as it came, with only the whitespace between tokens
 * taken out: numbers keep their written form (`86.0` stays `86.0`, where `JSON.stringify` of the
 * parsed value gives `86`), strings keep their escapes. `text` must be valid JSON (parse it first);
 * undefined when it is not an array.
 */
export function rawJsonArrayElements(text: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '[') return undefined;
  i++;
  const elements: string[] = [];
  let current = '';
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      current += text.slice(i, end);
      i = end - 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (depth === 0 && (c === ',' || c === ']')) {
      if (current !== '') elements.push(current);
      current = '';
      if (c === ']') break;
      continue;
    }
    if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    current += c;
  }
  return elements;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r' || text[i] === '\ufeff')) i++;
  return i;
}

/** The index just after the string that starts (with its quote) at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return text.length;
}

/**
 * The object with its keys as one spelling names them, matched case-insensitively: Stream
 * Analytics at compatibility level 1.0 writes its output columns in lower case, later levels keep
 * the case of the query. `canonical` gives the spelling of each known name (by its lower case);
 * other keys stay as they are. Returns the keys that appear twice in different cases, when any.
 */
export function withCanonicalKeys(
  value: Record<string, unknown>,
  canonical: ReadonlyMap<string, string>,
): { readonly value: Record<string, unknown>; readonly clashes: readonly string[] } {
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  const clashes: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    const name = canonical.get(lower) ?? key;
    const earlier = seen.get(lower);
    if (earlier !== undefined && canonical.has(lower)) {
      clashes.push(`${earlier}/${key}`);
      continue;
    }
    seen.set(lower, key);
    out[name] = v;
  }
  return { value: out, clashes };
}
