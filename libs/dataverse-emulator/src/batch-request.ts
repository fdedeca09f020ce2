import { randomUUID } from 'node:crypto';
import type { PendingContext } from './iot-service-endpoint.js';
import type { RecordStore } from './record-store.js';
import { statusText, type ApiRequest, type ApiResponse, type DataverseWebApi } from './web-api.js';
import { DataverseFault } from './dataverse-fault.js';

/**
 * OData `$batch` as Dataverse serves it: a multipart/mixed body of operations, where a nested
 * multipart/mixed part is a changeset, all of whose operations succeed or none does. Without
 * `Prefer: odata.continue-on-error`, the batch stops at the first failed part.
 */

interface Part {
  readonly headers: Record<string, string>;
  readonly content: string;
}

const boundaryOf = (contentType: string | undefined): string | undefined => /boundary=("?)([^";]+)\1/i.exec(contentType ?? '')?.[2];

/** The parts between `--boundary` lines; more than `limit` of them is a 400 before any more are cut out. */
function splitMultipart(body: string, boundary: string, limit = MAX_BATCH_REQUESTS): Part[] {
  const delimiter = `--${boundary}`;
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return parts;
  for (;;) {
    const start = at + delimiter.length;
    if (body.startsWith('--', start)) break;
    const next = body.indexOf(delimiter, start);
    const segment = next < 0 ? body.slice(start) : body.slice(start, next);
    if (parts.length === limit)
      throw new DataverseFault(400, '0x80060891', `The batch contains more than ${limit} requests, Dataverse's limit for one $batch.`);
    const text = segment.replace(/^\r?\n/, '');
    const split = /\r?\n\r?\n/.exec(text);
    const headerText = split === null ? text : text.slice(0, split.index);
    const content = split === null ? '' : text.slice(split.index + split[0].length);
    parts.push({ headers: parseHeaders(headerText), content });
    if (next < 0) break;
    at = next;
  }
  return parts;
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

/** The HTTP request inside an `application/http` part, its URL made relative to the Web API root. */
function parseEmbeddedRequest(content: string, webApiPath: string): ApiRequest {
  const lines = content.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  const first = lines[i] ?? '';
  const requestLine = /^([A-Z]+)\s+(\S+)\s+HTTP\/1\.[01]$/.exec(first.trim());
  if (requestLine === null)
    throw new DataverseFault(400, '0x80060891', `A $batch part does not start with a request line: ${JSON.stringify(first.slice(0, 80))}`);
  i++;
  const headerLines: string[] = [];
  while (i < lines.length && lines[i]!.trim() !== '') headerLines.push(lines[i++]!);
  const body = lines
    .slice(i + 1)
    .join('\n')
    .trim();
  let target = requestLine[2]!;
  if (/^https?:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new DataverseFault(400, '0x80060891', `A $batch part has a malformed URL: ${JSON.stringify(target.slice(0, 80))}`);
    }
    target = url.pathname + url.search;
  }
  if (target.startsWith(webApiPath)) target = target.slice(webApiPath.length);
  return { method: requestLine[1]!, target: target.replace(/^\//, ''), headers: parseHeaders(headerLines.join('\n')), body };
}

/** Requests of one `$batch` (Dataverse's limit): https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api */
export const MAX_BATCH_REQUESTS = 1000;

export interface BatchOperation {
  readonly request: ApiRequest;
  readonly contentId: string | undefined;
}

export type BatchItem =
  { readonly kind: 'request'; readonly operation: BatchOperation } | { readonly kind: 'changeset'; readonly operations: readonly BatchOperation[] };

export type BatchParse = { readonly ok: true; readonly value: BatchItem[] } | { readonly ok: false; readonly error: DataverseFault };

/**
 * Reads a whole `$batch` body into its requests and changesets before any of them runs, so a
 * malformed part or one request too many refuses the batch with a 400 and writes nothing.
 * Never throws: whatever the body, the answer is the items or a DataverseFault.
 */
export function parseBatch(body: string, contentType: string | undefined, webApiPath: string): BatchParse {
  try {
    const boundary = boundaryOf(contentType);
    if (boundary === undefined || !/multipart\/mixed/i.test(contentType ?? ''))
      throw new DataverseFault(400, '0x80060891', '$batch needs Content-Type: multipart/mixed with a boundary.');
    const items: BatchItem[] = [];
    let count = 0;
    const counted = (n: number): void => {
      count += n;
      if (count > MAX_BATCH_REQUESTS)
        throw new DataverseFault(400, '0x80060891', `The batch contains more than ${MAX_BATCH_REQUESTS} requests, Dataverse's limit for one $batch.`);
    };
    for (const part of splitMultipart(body, boundary)) {
      const changesetBoundary = boundaryOf(part.headers['content-type']);
      if (changesetBoundary !== undefined && /multipart\/mixed/i.test(part.headers['content-type'] ?? '')) {
        const ops = splitMultipart(part.content, changesetBoundary);
        counted(ops.length);
        items.push({
          kind: 'changeset',
          operations: ops.map((op) => ({ request: parseEmbeddedRequest(op.content, webApiPath), contentId: op.headers['content-id'] })),
        });
      } else {
        counted(1);
        items.push({ kind: 'request', operation: { request: parseEmbeddedRequest(part.content, webApiPath), contentId: undefined } });
      }
    }
    if (items.length === 0) throw new DataverseFault(400, '0x80060891', `The $batch body has no part delimited by --${boundary}.`);
    return { ok: true, value: items };
  } catch (e) {
    if (e instanceof DataverseFault) return { ok: false, error: e };
    return { ok: false, error: new DataverseFault(400, '0x80060891', `The $batch body is malformed: ${e instanceof Error ? e.message : String(e)}`) };
  }
}

function httpPart(response: ApiResponse, contentId?: string): string {
  const head = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', ...(contentId !== undefined ? [`Content-ID: ${contentId}`] : []), ''];
  const lines = [`HTTP/1.1 ${response.status} ${statusText(response.status)}`, ...Object.entries(response.headers).map(([k, v]) => `${k}: ${v}`), ''];
  return `${head.join('\r\n')}\r\n${lines.join('\r\n')}\r\n${response.body ?? ''}\r\n`;
}

export function executeBatch(api: DataverseWebApi, store: RecordStore, request: ApiRequest, webApiPath: string, effects: PendingContext[]): ApiResponse {
  const contentType = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const parsed = parseBatch(request.body, contentType, webApiPath);
  if (!parsed.ok) throw parsed.error;
  const continueOnError = /odata\.continue-on-error/.test(Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'prefer')?.[1] ?? '');
  const responseBoundary = `batchresponse_${randomUUID()}`;
  const out: string[] = [];
  for (const item of parsed.value) {
    let failed = false;
    if (item.kind === 'changeset') {
      const changesetEffects: PendingContext[] = [];
      const responses: Array<{ response: ApiResponse; contentId: string | undefined }> = [];
      let failure: { response: ApiResponse; contentId: string | undefined } | undefined;
      try {
        store.transaction(() => {
          for (const op of item.operations) {
            const response = api.handle(op.request, changesetEffects);
            if (response.status >= 400) {
              failure = { response, contentId: op.contentId };
              throw new ChangesetRolledBack();
            }
            responses.push({ response, contentId: op.contentId });
          }
        });
        effects.push(...changesetEffects);
      } catch (e) {
        if (!(e instanceof ChangesetRolledBack)) throw e;
      }
      const changesetResponse = `changesetresponse_${randomUUID()}`;
      const inner = failure !== undefined ? [failure] : responses;
      failed = failure !== undefined;
      out.push(
        `--${responseBoundary}\r\nContent-Type: multipart/mixed; boundary=${changesetResponse}\r\n\r\n` +
          inner.map((r) => `--${changesetResponse}\r\n${httpPart(r.response, r.contentId)}`).join('') +
          `--${changesetResponse}--\r\n`,
      );
    } else {
      const response = api.handle(item.operation.request, effects);
      failed = response.status >= 400;
      out.push(`--${responseBoundary}\r\n${httpPart(response)}`);
    }
    if (failed && !continueOnError) break;
  }
  out.push(`--${responseBoundary}--\r\n`);
  return { status: 200, headers: { 'Content-Type': `multipart/mixed; boundary=${responseBoundary}`, 'OData-Version': '4.0' }, body: out.join('') };
}

class ChangesetRolledBack extends Error {}
