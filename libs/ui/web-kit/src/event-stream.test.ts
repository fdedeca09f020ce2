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
});
