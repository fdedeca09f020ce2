import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { LogFields, LogPort } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from './event-stream.js';
import { readJsonObject } from './json-body.js';
import { CONTENT_TYPES, sendIssues, sendJson, startWebServer, type Route, type WebServerHandle, type WebServerOptions } from './web-server.js';

const TOKEN = 'a-token-of-sixteen-chars';
/** Any file on disk does as the page; this module's own source is always there. */
const PAGE_FILE = fileURLToPath(new URL('./index.ts', import.meta.url));

const recordingLog = (): LogPort & { errors: Array<{ event: string; fields?: LogFields }> } => {
  const errors: Array<{ event: string; fields?: LogFields }> = [];
  return {
    errors,
    info: () => undefined,
    warn: () => undefined,
    error: (event, fields) => void errors.push({ event, ...(fields === undefined ? {} : { fields }) }),
  };
};

/** Routes that show what the server handed them. */
const routes: Route[] = [
  { method: 'GET', path: /^\/api\/items\/([^/]+)$/, handle: async ({ response, params }) => sendJson(response, 200, { ok: true, params }) },
  {
    method: 'POST',
    path: /^\/api\/items$/,
    handle: async ({ request, response }) => {
      const body = await readJsonObject(request);
      if (!body.ok) return sendIssues(response, 400, [body.error]);
      sendJson(response, 200, { ok: true, received: body.value });
    },
  },
  {
    method: 'GET',
    path: /^\/api\/broken$/,
    handle: async () => {
      throw new Error('the handler failed');
    },
  },
];

let server: WebServerHandle | undefined;
let stream: EventStream;

async function start(options: Partial<WebServerOptions> = {}): Promise<string> {
  stream = new EventStream();
  server = await startWebServer({ port: 0, routes, stream, staticFiles: { '/': { file: PAGE_FILE, contentType: CONTENT_TYPES.html } }, ...options });
  return server.url;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/api/items/x', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('startWebServer', () => {
  it('binds 127.0.0.1 on a free port by default and serves static files and routes', async () => {
    const url = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe(CONTENT_TYPES.html);
    expect(await page.text()).toContain("export * from './web-server.js';");
    expect(await (await fetch(`${url}api/items/thermostat-1`)).json()).toEqual({ ok: true, params: ['thermostat-1'] });
    expect(await (await post(`${url}api/items`, { deviceId: 'thermostat-1' })).json()).toEqual({ ok: true, received: { deviceId: 'thermostat-1' } });
  });

  it('shows an IPv6 address in brackets', async () => {
    const url = await start({ host: '::1' });
    expect(url).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    expect((await fetch(`${url}api/items/a`)).status).toBe(200);
  });

  it('decodes percent-encoded path parameters, and answers a malformed one with 400 naming the path', async () => {
    const url = await start();
    expect(await (await fetch(`${url}api/items/thermostat%201`)).json()).toEqual({ ok: true, params: ['thermostat 1'] });
    const malformed = await fetch(`${url}api/items/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ ok: false, error: 'malformed percent-encoding in /api/items/%E0%A4%A' });
  });

  it('answers 404 naming the method and path for anything else', async () => {
    const url = await start();
    const missing = await fetch(`${url}nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ ok: false, error: 'no GET /nowhere here' });
    expect((await post(url, {})).status).toBe(404);
  });

  it('answers a failing handler with 500 and logs the path without its query', async () => {
    const log = recordingLog();
    const url = await start({ log, token: TOKEN });
    const failed = await fetch(`${url}api/broken?token=${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ ok: false, error: 'the server failed to answer; see its log' });
    expect(log.errors).toEqual([{ event: 'web.request-failed', fields: { method: 'GET', path: '/api/broken', error: 'the handler failed' } }]);
    expect(JSON.stringify(log.errors)).not.toContain(TOKEN);
  });

  it('runs onClose when it closes, and then stops listening', async () => {
    let closed = 0;
    const url = await start({ onClose: () => void closed++ });
    await server!.close();
    server = undefined;
    expect(closed).toBe(1);
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('security headers', () => {
  it('sends the Content-Security-Policy, nosniff and no-referrer on pages and on JSON', async () => {
    const url = await start();
    for (const response of [await fetch(url), await fetch(`${url}api/items/a`), await fetch(`${url}nowhere`)]) {
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      );
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});

describe('JSON-only POSTs', () => {
  it('refuses a POST that is not application/json with 415 before any route runs', async () => {
    const url = await start();
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const refused = await fetch(`${url}api/items`, { method: 'POST', headers: { 'content-type': contentType }, body: 'deviceId=x' });
      expect(refused.status, contentType).toBe(415);
      expect(await refused.json()).toEqual({ ok: false, error: 'expected Content-Type: application/json' });
    }
    expect((await post(`${url}api/items`, { a: 1 }, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('hands the route a body that is not a JSON object as its error', async () => {
    const url = await start();
    const refused = await fetch(`${url}api/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ ok: false, issues: [{ path: 'body', message: 'expected a JSON object' }] });
  });
});

describe('the loopback Host check', () => {
  it('bound to loopback, answers only to a loopback host name (no DNS rebinding)', async () => {
    const url = await start();
    const { port } = new URL(url);
    expect(await getWithHost(url, `evil.example:${port}`)).toBe(421);
    expect(await getWithHost(url, `127.0.0.1.evil.example:${port}`)).toBe(421);
    expect(await getWithHost(url, `127.0.0.1:${port}`)).toBe(200);
    expect(await getWithHost(url, `localhost:${port}`)).toBe(200);
    expect(await getWithHost(url, `[::1]:${port}`)).toBe(200);
  });

  it('bound to another address, leaves the host name to the token', async () => {
    const url = await start({ host: '0.0.0.0', token: TOKEN });
    const { port } = new URL(url);
    const status = await new Promise<number>((resolve, reject) => {
      httpRequest(
        { host: '127.0.0.1', port, path: '/api/items/x', headers: { host: `fieldlink.example:${port}`, authorization: `Bearer ${TOKEN}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
  });
});

describe('the token rule', () => {
  it('refuses to start on a non-loopback address without a token, or with a short one, naming the setting', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow('token: required when binding to 0.0.0.0');
    await expect(start({ token: 'short' })).rejects.toThrow('token: expected at least 16 characters');
  });

  it('with a token, checks it on every request: page, routes, POSTs and the live stream', async () => {
    const url = await start({ token: TOKEN });
    for (const path of ['', 'api/items/a', 'api/events', 'nowhere']) {
      const refused = await fetch(`${url}${path}`);
      expect(refused.status, path).toBe(401);
      expect(await refused.text()).not.toContain(TOKEN);
    }
    expect((await post(`${url}api/items`, {})).status).toBe(401);
    expect((await fetch(`${url}api/items/a`, { headers: { authorization: 'Bearer wrong-token-of-length' } })).status).toBe(401);
    expect((await fetch(`${url}api/items/a`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await post(`${url}api/items`, {}, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    expect(stream.size).toBe(0);
  });

  it('opening /?token= sets an HttpOnly SameSite=Strict cookie and redirects to the address without the token', async () => {
    const url = await start({ token: TOKEN });
    const opened = await fetch(`${url}?token=${TOKEN}&view=alerts`, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/?view=alerts');
    expect(opened.headers.get('set-cookie')).toBe(`fieldlink_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(url, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(url, { headers: { cookie: 'fieldlink_token=wrong-token-of-length' } })).status).toBe(401);
    // A wrong token in the address is refused, not turned into a cookie.
    expect((await fetch(`${url}?token=wrong-token-of-length`, { redirect: 'manual' })).status).toBe(401);
  });

  it('answers a token cookie with broken percent-encoding with 401, not 500, and logs no failure', async () => {
    const log = recordingLog();
    const url = await start({ token: TOKEN, log });
    for (const cookie of ['fieldlink_token=%E0%A4%A', 'fieldlink_token=%', 'other=1; fieldlink_token=%zz']) {
      const answer = await fetch(`${url}api/items/a`, { headers: { cookie } });
      expect(answer.status, cookie).toBe(401);
    }
    expect(log.errors).toEqual([]);
  });

  it('without a token, lets every request through on loopback', async () => {
    const url = await start();
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(`${url}?token=anything`, { redirect: 'manual' })).status).toBe(200);
  });
});
