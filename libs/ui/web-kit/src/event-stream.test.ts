import { connect } from 'node:net';
import type { LogFields } from '@fieldlink/ports';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStream } from './event-stream.js';
import { startWebServer, type WebServerHandle } from './web-server.js';

let server: WebServerHandle | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

async function serve(stream: EventStream, token?: string): Promise<string> {
  server = await startWebServer({ port: 0, routes: [], stream, staticFiles: {}, ...(token === undefined ? {} : { token }) });
  return server.url;
}

/** Reads the stream until `until` has arrived; returns all text so far. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: string, text = ''): Promise<string> {
  while (!text.includes(until)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(until)}; got ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(value);
  }
  return text;
}

describe('EventStream over /api/events (server-sent events)', () => {
  it('opens a text/event-stream that is not cached and tells the browser to reconnect after 1 s', async () => {
    const stream = new EventStream();
    const url = await serve(stream);
    const response = await fetch(`${url}api/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const reader = response.body!.getReader();
    expect(await readUntil(reader, '\n\n')).toBe('retry: 1000\n\n');
    await reader.cancel();
  });

  it('sends each event as JSON data to every open page', async () => {
    const stream = new EventStream();
    const url = await serve(stream);
    const readers = [(await fetch(`${url}api/events`)).body!.getReader(), (await fetch(`${url}api/events`)).body!.getReader()];
    await expect.poll(() => stream.size).toBe(2);
    stream.send('fleet', { changed: [{ deviceId: 'thermostat-1' }], note: 'line\nbreak' });
    for (const reader of readers) {
      const text = await readUntil(reader, 'event: fleet\n');
      expect(await readUntil(reader, '}\n\n', text)).toContain('event: fleet\ndata: {"changed":[{"deviceId":"thermostat-1"}],"note":"line\\nbreak"}\n\n');
      await reader.cancel();
    }
  });

  it('forgets a page that went away', async () => {
    const stream = new EventStream();
    const url = await serve(stream);
    const reader = (await fetch(`${url}api/events`)).body!.getReader();
    await expect.poll(() => stream.size).toBe(1);
    await reader.cancel();
    await expect.poll(() => stream.size).toBe(0);
  });

  it('writes a keep-alive comment every 15 s so proxies keep the stream open', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const stream = new EventStream();
    const url = await serve(stream);
    const reader = (await fetch(`${url}api/events`)).body!.getReader();
    const opened = await readUntil(reader, 'retry: 1000\n\n');
    vi.advanceTimersByTime(14_999);
    stream.send('marker', 1);
    const beforeKeepAlive = await readUntil(reader, 'event: marker', opened);
    expect(beforeKeepAlive).not.toContain(': keep-alive');
    vi.advanceTimersByTime(1);
    expect(await readUntil(reader, ': keep-alive\n\n', beforeKeepAlive)).toMatch(/data: 1\n\n: keep-alive\n\n$/);
    await reader.cancel();
  });

  it('ends every open page when the server closes', async () => {
    const stream = new EventStream();
    const url = await serve(stream);
    const reader = (await fetch(`${url}api/events`)).body!.getReader();
    await readUntil(reader, 'retry: 1000\n\n');
    await server!.close();
    server = undefined;
    expect(stream.size).toBe(0);
    let ended = false;
    while (!ended) ended = (await reader.read().catch(() => ({ done: true }))).done;
    expect(ended).toBe(true);
  });

  it('is behind the token like every other request', async () => {
    const token = 'a-token-of-sixteen-chars';
    const stream = new EventStream();
    const url = await serve(stream, token);
    expect((await fetch(`${url}api/events`)).status).toBe(401);
    expect(stream.size).toBe(0);
    const response = await fetch(`${url}api/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    await response.body!.cancel();
  });

  it('keeps what it holds for a page that stops reading within the bound, then disconnects it, while a reading page goes on', async () => {
    const warnings: Array<[string, LogFields | undefined]> = [];
    const maxBufferedBytes = 256 * 1024;
    const stream = new EventStream({ maxBufferedBytes, log: { info: () => undefined, warn: (e, f) => warnings.push([e, f]), error: () => undefined } });
    const url = new URL(await serve(stream));
    // A real socket that asks for the stream, then never reads again.
    const slow = connect(Number(url.port), '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${url.port}\r\n\r\n`);
    await expect.poll(() => stream.size).toBe(1);
    slow.pause();
    // A page that reads everything.
    const reader = (await fetch(`${url.href}api/events`)).body!.getReader();
    await expect.poll(() => stream.size).toBe(2);
    let received = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += value.byteLength;
      }
    })();

    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    let mostBuffered = 0;
    // Far more than the kernel's socket buffers and the bound together can take.
    for (let i = 0; i < 4_000 && stream.slowClientsCut === 0; i++) {
      stream.send('fleet', { payload, i });
      sent += payload.length;
      mostBuffered = Math.max(mostBuffered, stream.bufferedBytes);
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(stream.slowClientsCut).toBe(1);
    expect(mostBuffered).toBeLessThanOrEqual(maxBufferedBytes * 2);
    expect(stream.size).toBe(1);
    expect(warnings.map(([e]) => e)).toEqual(['web.stream-client-cut']);
    // The slow page's connection is closed: reading on, it gets what the kernel held, then the end.
    let slowBytes = 0;
    slow.on('data', (d: Buffer) => (slowBytes += d.length));
    slow.resume();
    await new Promise<void>((resolve) => slow.once('close', () => resolve()));
    expect(slowBytes).toBeLessThan(sent);
    // The reading page was never cut and keeps receiving.
    stream.send('fleet', { last: true });
    await expect.poll(() => received, { timeout: 10_000 }).toBeGreaterThan(sent);
    await reader.cancel();
    await reading;
  }, 30_000);
});
