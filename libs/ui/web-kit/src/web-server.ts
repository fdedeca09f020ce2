import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLog, type LogPort } from '@fieldlink/ports';
import { checkAccessSettings, isLoopbackHost, TOKEN_COOKIE, TokenGuard } from './access-token.js';
import type { EventStream } from './event-stream.js';

export interface WebServerHandle {
  /** `http://host:port/` of the page (without the token). */
  readonly url: string;
  close(): Promise<void>;
}

export interface RequestContext {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  /** The capture groups of the route's path pattern. */
  readonly params: readonly string[];
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** Matched against the whole path. */
  readonly path: RegExp;
  handle(context: RequestContext): Promise<void>;
}

export interface StaticFile {
  /** Absolute path on disk. */
  readonly file: string;
  readonly contentType: string;
}

export interface WebServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Required when `host` is not loopback; checked on every request and on the live stream. */
  readonly token?: string;
  readonly staticFiles: Readonly<Record<string, StaticFile>>;
  readonly routes: readonly Route[];
  /** The live stream, served at `/api/events`. */
  readonly stream: EventStream;
  readonly log?: LogPort;
  /** Runs when the server closes, before the sockets do (unsubscribe, stop timers). */
  readonly onClose?: () => Promise<void> | void;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The pages load only their own scripts; uPlot sets inline styles on its elements.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
} as const;

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** A refusal the page can show: `{ ok: false, issues: [{ path, message }] }`. */
export function sendIssues(response: ServerResponse, status: number, issues: readonly { readonly path: string; readonly message: string }[]): void {
  sendJson(response, status, { ok: false, issues });
}

/**
 * A small HTTP server on node:http for one page: static files, JSON routes and a server-sent
 * event stream, with the token rule and the loopback host check in front of all of them.
 * Throws when the settings break the token rule, so a misconfigured server never listens.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const settings = checkAccessSettings({ host, ...(options.token === undefined ? {} : { token: options.token }) });
  if (!settings.ok) throw new Error(`${settings.error.path}: ${settings.error.message}`);
  const guard = new TokenGuard(options.token);
  const log = options.log ?? silentLog;
  const loopback = isLoopbackHost(host);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    // A page on another site must not reach a loopback server by renaming itself (DNS rebinding).
    if (loopback && !isLoopbackHost(hostnameOf(request.headers.host)))
      return sendJson(response, 421, { ok: false, error: 'this server answers only to a loopback host name' });
    if (!guard.allows(request, url))
      return sendJson(response, 401, { ok: false, error: 'a valid token is required: open the page as /?token=<token> or send Authorization: Bearer <token>' });
    if (guard.required && url.searchParams.has('token') && request.method === 'GET') {
      // Keep the token in a cookie and take it out of the address bar and history.
      url.searchParams.delete('token');
      response.writeHead(303, {
        ...SECURITY_HEADERS,
        location: url.pathname + url.search,
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(options.token!)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return void response.end();
    }
    // JSON only: a cross-site form cannot send it without a preflight this server never answers.
    if (request.method === 'POST' && !(request.headers['content-type'] ?? '').startsWith('application/json'))
      return sendJson(response, 415, { ok: false, error: 'expected Content-Type: application/json' });
    if (request.method === 'GET' && url.pathname === '/api/events') return options.stream.open(response);
    for (const route of options.routes) {
      const match = route.method === request.method ? route.path.exec(url.pathname) : null;
      if (match === null) continue;
      const params = decodePathParams(match.slice(1));
      if (params === undefined) return sendJson(response, 400, { ok: false, error: `malformed percent-encoding in ${url.pathname}` });
      return route.handle({ request, response, url, params });
    }
    const file = request.method === 'GET' ? options.staticFiles[url.pathname] : undefined;
    if (file !== undefined) {
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.contentType, 'cache-control': 'no-cache' });
      return void response.end(await readFile(file.file));
    }
    sendJson(response, 404, { ok: false, error: `no ${request.method} ${url.pathname} here` });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((e: unknown) => {
      log.error('web.request-failed', { method: request.method, path: request.url?.split('?')[0], error: (e as Error).message });
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: 'the server failed to answer; see its log' });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    close: async () => {
      await options.onClose?.();
      options.stream.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function decodePathParams(raw: readonly string[]): string[] | undefined {
  try {
    return raw.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

function hostnameOf(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  return hostHeader.split(':')[0] ?? '';
}

export const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;
