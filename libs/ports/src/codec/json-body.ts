import { err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * The body as text, or undefined when it is not valid UTF-8. The replacing decoder is the fast
 * one (the strict one costs about 8 % more per telemetry body, decoding and parsing together), and
 * it marks every invalid sequence with U+FFFD: a text without one came from valid bytes, and only a
 * text with one (a replacement, or a U+FFFD the sender wrote) is decoded again strictly.
 * https://encoding.spec.whatwg.org/#utf-8-decoder
 */
function utf8Text(body: Uint8Array): string | undefined {
  const text = utf8.decode(body);
  if (text.indexOf('\uFFFD') === -1) return text;
  try {
    return strictUtf8.decode(body);
  } catch {
    return undefined;
  }
}

/**
 * Reads a message body as strict UTF-8 JSON. A byte-order mark, invalid UTF-8 and invalid JSON
 * are refused with an issue at path `body`, never thrown.
 */
export function decodeJsonBody(body: Uint8Array | string): Result<unknown, ValidationIssue[]> {
  const text = decodeJsonText(body);
  return text.ok ? parseJsonText(text.value) : text;
}

/** The body's text, for JSON: refused (at path `body`) when it is not valid UTF-8 or starts with a byte-order mark. */
export function decodeJsonText(body: Uint8Array | string): Result<string, ValidationIssue[]> {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    const decoded = utf8Text(body);
    if (decoded === undefined) return err([{ path: 'body', message: 'is not valid UTF-8' }]);
    text = decoded;
  }
  if (text.charCodeAt(0) === 0xfeff) return err([{ path: 'body', message: 'starts with a byte-order mark; send UTF-8 JSON without one' }]);
  return ok(text);
}

/** `JSON.parse` of a body's text (see `decodeJsonText`), refused at path `body` when it is not JSON. */
export function parseJsonText(text: string): Result<unknown, ValidationIssue[]> {
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (e) {
    return err([{ path: 'body', message: `is not JSON (${(e as Error).message})` }]);
  }
}

export const encodeJsonBody = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
