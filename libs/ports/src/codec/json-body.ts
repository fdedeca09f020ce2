import { err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Reads a message body as strict UTF-8 JSON. A byte-order mark, invalid UTF-8 and invalid JSON
 * are refused with an issue at path `body`, never thrown.
 */
export function decodeJsonBody(body: Uint8Array | string): Result<unknown, ValidationIssue[]> {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch {
      return err([{ path: 'body', message: 'is not valid UTF-8' }]);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) return err([{ path: 'body', message: 'starts with a byte-order mark; send UTF-8 JSON without one' }]);
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (e) {
    return err([{ path: 'body', message: `is not JSON (${(e as Error).message})` }]);
  }
}

export const encodeJsonBody = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
