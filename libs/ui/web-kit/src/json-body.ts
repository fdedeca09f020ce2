import type { IncomingMessage } from 'node:http';
import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

const MAX_BODY_BYTES = 64 * 1024;

/** Reads a JSON request body; too large, not JSON, or not an object is an error naming why. */
export async function readJsonObject(request: IncomingMessage): Promise<Result<Record<string, unknown>, ValidationIssue>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return err(issue(['body'], `larger than ${MAX_BODY_BYTES} bytes`));
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return ok({});
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err(issue(['body'], 'is not JSON'));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return err(issue(['body'], 'expected a JSON object'));
  return ok(json as Record<string, unknown>);
}
