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

function splitMultipart(body: string, boundary: string): Part[] {
  const segments = body.split(`--${boundary}`);
  const parts: Part[] = [];
  for (const segment of segments.slice(1)) {
    if (segment.startsWith('--')) break;
    const text = segment.replace(/^\r?\n/, '');
    const split = /\r?\n\r?\n/.exec(text);
    const headerText = split === null ? text : text.slice(0, split.index);
    const content = split === null ? '' : text.slice(split.index + split[0].length);
    parts.push({ headers: parseHeaders(headerText), content });
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
  const requestLine = /^([A-Z]+)\s+(\S+)\s+HTTP\/1\.[01]$/.exec(lines[i]!.trim());
  if (requestLine === null) throw new DataverseFault(400, '0x80060891', `A $batch part does not start with a request line: ${JSON.stringify(lines[i]?.slice(0, 80))}`);
  i++;
  const headerLines: string[] = [];
  while (i < lines.length && lines[i]!.trim() !== '') headerLines.push(lines[i++]!);
  const body = lines.slice(i + 1).join('\n').trim();
  let target = requestLine[2]!;
  if (/^https?:\/\//.test(target)) target = new URL(target).pathname + new URL(target).search;
  if (target.startsWith(webApiPath)) target = target.slice(webApiPath.length);
  return { method: requestLine[1]!, target: target.replace(/^\//, ''), headers: parseHeaders(headerLines.join('\n')), body };
}

function httpPart(response: ApiResponse, contentId?: string): string {
  const head = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary', ...(contentId !== undefined ? [`Content-ID: ${contentId}`] : []), ''];
  const lines = [`HTTP/1.1 ${response.status} ${statusText(response.status)}`, ...Object.entries(response.headers).map(([k, v]) => `${k}: ${v}`), ''];
  return `${head.join('\r\n')}\r\n${lines.join('\r\n')}\r\n${response.body ?? ''}\r\n`;
}

export function executeBatch(api: DataverseWebApi, store: RecordStore, request: ApiRequest, webApiPath: string, effects: PendingContext[]): ApiResponse {
  const contentType = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const boundary = boundaryOf(contentType);
  if (boundary === undefined || !/multipart\/mixed/i.test(contentType ?? '')) throw new DataverseFault(400, '0x80060891', '$batch needs Content-Type: multipart/mixed with a boundary.');
  const continueOnError = /odata\.continue-on-error/.test(Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'prefer')?.[1] ?? '');
  const responseBoundary = `batchresponse_${randomUUID()}`;
  const out: string[] = [];
  for (const part of splitMultipart(request.body, boundary)) {
    const changesetBoundary = boundaryOf(part.headers['content-type']);
    let failed = false;
    if (changesetBoundary !== undefined && /multipart\/mixed/i.test(part.headers['content-type'] ?? '')) {
      const operations = splitMultipart(part.content, changesetBoundary);
      const changesetEffects: PendingContext[] = [];
      const responses: Array<{ response: ApiResponse; contentId: string | undefined }> = [];
      let failure: { response: ApiResponse; contentId: string | undefined } | undefined;
      try {
        store.transaction(() => {
          for (const op of operations) {
            const response = api.handle(parseEmbeddedRequest(op.content, webApiPath), changesetEffects);
            if (response.status >= 400) {
              failure = { response, contentId: op.headers['content-id'] };
              throw new ChangesetRolledBack();
            }
            responses.push({ response, contentId: op.headers['content-id'] });
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
      const response = api.handle(parseEmbeddedRequest(part.content, webApiPath), effects);
      failed = response.status >= 400;
      out.push(`--${responseBoundary}\r\n${httpPart(response)}`);
    }
    if (failed && !continueOnError) break;
  }
  out.push(`--${responseBoundary}--\r\n`);
  return { status: 200, headers: { 'Content-Type': `multipart/mixed; boundary=${responseBoundary}`, 'OData-Version': '4.0' }, body: out.join('') };
}

class ChangesetRolledBack extends Error {}
