// Flows 3–6 (ingest state): the strings the state keeps for as long as a device sends.

/**
 * A string of its own, exactly as long as `s`: what the state keeps of a device it meets for the
 * first time. The scanner's strings are views of a copy one character longer (so that they do not
 * keep a whole message alive: `stringOfItsOwn` in `@fieldlink/ports`), 72 bytes for a device id of
 * 17 characters against 40 for a string of its own; a device's id is kept as long as it sends, and
 * copied once (docs/performance.md, "Seventeenth round").
 */
export const flatCopy = (s: string): string => JSON.parse(JSON.stringify(s)) as string;
