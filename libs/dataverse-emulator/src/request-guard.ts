import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DataverseFault } from './dataverse-fault.js';

/**
 * What stands in front of every Web API request, as in a Dataverse organisation: a bearer token
 * (Dataverse answers a request without one with 401 and a `WWW-Authenticate` challenge naming the
 * sign-in authority), JSON bodies only, a cap on the body size, and, because the emulator listens
 * on loopback where any web page in a browser can reach it, the same rules as the page servers:
 * a loopback `Host` only (no DNS rebinding), no other site's `Origin`, no CORS preflight.
 */

/**
 * Dataverse's size limit of one request: 128 MB (larger files are sent in chunks).
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/file-attributes
 */
export const DATAVERSE_MAX_REQUEST_BYTES = 128 * 1024 * 1024;

/** The sign-in authority the 401 challenge names, as Dataverse's does (`…/oauth2/authorize`). */
const AUTHORIZATION_URI = 'https://login.microsoftonline.com/common/oauth2/authorize';

export interface RequestGuardSettings {
  /** The address the emulator listens on; a loopback one makes the Host check apply. */
  readonly host: string;
  /** When set, the bearer token must be exactly this; otherwise any non-empty bearer token is accepted. */
  readonly accessToken?: string;
  /** The largest body taken, in bytes. */
  readonly maxRequestBytes: number;
}

/** Loopback host names: localhost, ::1 and 127.0.0.0/8 (the page servers' rule). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function hostnameOf(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  return hostHeader.split(':')[0] ?? '';
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const JSON_TYPE = /^application\/json(\s*;|\s*$)/i;
const MULTIPART_TYPE = /^multipart\/mixed\s*;/i;

export class RequestGuard {
  private readonly expected: Buffer | undefined;
  private readonly loopback: boolean;

  constructor(private readonly settings: RequestGuardSettings) {
    this.expected = settings.accessToken === undefined ? undefined : digest(settings.accessToken);
    this.loopback = isLoopbackHost(settings.host);
  }

  get maxRequestBytes(): number {
    return this.settings.maxRequestBytes;
  }

  /** The refusal of a request by its headers alone, or undefined when it may be read and served. */
  check(request: IncomingMessage, organizationUrl: string): DataverseFault | undefined {
    const hostHeader = request.headers.host;
    if (this.loopback && !isLoopbackHost(hostnameOf(hostHeader))) {
      return new DataverseFault(421, '0x80048306', 'This organisation answers only to a loopback host name.');
    }
    // A browser's preflight: no Access-Control-* headers ever, so no other site may call.
    if ((request.method ?? '').toUpperCase() === 'OPTIONS')
      return new DataverseFault(405, '0x80060888', 'OPTIONS is not supported: this organisation answers no cross-origin requests.');
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== organizationUrl && origin !== `http://${hostHeader ?? ''}`) {
      return new DataverseFault(403, '0x80048306', `Requests from the origin ${JSON.stringify(origin.slice(0, 200))} are not allowed.`);
    }
    if (!this.authorized(request.headers.authorization)) {
      // Dataverse's challenge: 401 with an empty body and the authority to get a token from.
      return new DataverseFault(401, '', '', { 'WWW-Authenticate': `Bearer authorization_uri=${AUTHORIZATION_URI}, resource_id=${organizationUrl}/` });
    }
    const method = (request.method ?? 'GET').toUpperCase();
    const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? '0') > 0;
    if (hasBody && method !== 'GET' && method !== 'DELETE') {
      const type = request.headers['content-type'] ?? '';
      if (!JSON_TYPE.test(type) && !MULTIPART_TYPE.test(type)) {
        return new DataverseFault(
          415,
          '0x80060888',
          `The content type ${JSON.stringify(type.slice(0, 100))} is not supported: send application/json (multipart/mixed for $batch).`,
        );
      }
    }
    const declared = Number(request.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > this.settings.maxRequestBytes) return tooLarge(this.settings.maxRequestBytes);
    return undefined;
  }

  private authorized(header: string | undefined): boolean {
    const match = header === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(header);
    if (match === null) return false;
    return this.expected === undefined || timingSafeEqual(digest(match[1]!), this.expected);
  }
}

export const tooLarge = (max: number): DataverseFault => new DataverseFault(413, '0x80060891', `The request body is larger than the limit of ${max} bytes.`);

/**
 * Reads a body up to `maxBytes`: past the cap it stops reading and answers the fault, so a huge
 * body never sits in memory. Bytes that are not UTF-8 are a 400.
 */
export async function readCappedBody(request: IncomingMessage, maxBytes: number): Promise<{ ok: true; value: string } | { ok: false; error: DataverseFault }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return { ok: false, error: tooLarge(maxBytes) };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) };
  } catch {
    return { ok: false, error: new DataverseFault(400, '0x80060891', 'The request body is not valid UTF-8.') };
  }
}

/**
 * A token credential (the shape of `@azure/identity`'s TokenCredential) that always hands out
 * `token`: what a client of the emulator signs in with. It never expires within a run.
 */
export function emulatorCredential(token = 'fieldlink-emulator'): { getToken(): Promise<{ token: string; expiresOnTimestamp: number }> } {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 24 * 3_600_000 }) };
}
