import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

/** Cookie the page keeps the token in after opening `/?token=…`, so fetch and the live stream carry it. */
export const TOKEN_COOKIE = 'fieldlink_token';
export const TOKEN_MIN_LENGTH = 16;

export interface AccessSettings {
  readonly host: string;
  readonly token?: string;
}

/** Loopback needs no token; every other address (a LAN interface, 0.0.0.0, ::) is reachable by others. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The token rule: bound to loopback a token is optional; bound to any other address the server
 * refuses to start without one, and a short token is refused too (it could be guessed).
 */
export function checkAccessSettings(settings: AccessSettings): Result<AccessSettings, ValidationIssue> {
  const { host, token } = settings;
  if (token !== undefined && token.length < TOKEN_MIN_LENGTH) return err(issue(['token'], `expected at least ${TOKEN_MIN_LENGTH} characters`));
  if (!isLoopbackHost(host) && token === undefined)
    return err(issue(['token'], `required when binding to ${host} (any address other than loopback); give one of at least ${TOKEN_MIN_LENGTH} characters`));
  return ok(settings);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Checks a request's token in constant time; sources: `Authorization: Bearer`, the cookie, or `?token=`. */
export class TokenGuard {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token === undefined ? undefined : digest(token);
  }

  get required(): boolean {
    return this.expected !== undefined;
  }

  allows(request: IncomingMessage, url: URL): boolean {
    if (this.expected === undefined) return true;
    const presented = bearerOf(request) ?? cookieOf(request, TOKEN_COOKIE) ?? url.searchParams.get('token') ?? undefined;
    return presented !== undefined && timingSafeEqual(digest(presented), this.expected);
  }
}

function bearerOf(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1];
}

function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeCookieValue(rest.join('='));
  }
  return undefined;
}

/** A cookie value with broken percent-encoding is no token at all (a 401), never a thrown error. */
function decodeCookieValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
