import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load-config.js';
import { createStreamProcessor } from './create-runtimes.js';
import { FieldlinkRuntime, type RuntimePart } from './fieldlink-runtime.js';
import { readinessOf, startHealthServer, type HealthServer, type Readiness } from './health-server.js';
import { startHealthOf } from './process-main.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const serve = async (readiness: () => Readiness): Promise<HealthServer> => {
  const server = await startHealthServer({ service: 'test-service', port: 0, readiness });
  servers.push(server);
  return server;
};
const get = async (url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('health endpoints', () => {
  it('bind loopback, answer /healthz 200 while alive and /readyz 503 naming what is not ready, then 200 once ready', async () => {
    let readiness: Readiness = { ready: false, notReady: [{ part: 'telemetry-ingest', reason: 'starting' }] };
    const server = await serve(() => readiness);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${server.url}/healthz`)).toEqual({ status: 200, body: { service: 'test-service', status: 'alive' } });
    expect(await get(`${server.url}/readyz`)).toEqual({
      status: 503,
      body: { service: 'test-service', status: 'not-ready', notReady: [{ part: 'telemetry-ingest', reason: 'starting' }] },
    });
    readiness = { ready: true };
    expect(await get(`${server.url}/readyz`)).toEqual({ status: 200, body: { service: 'test-service', status: 'ready' } });
  });

  it('answer 404 for another path and 405 for another method, and a readiness that throws is not ready', async () => {
    const server = await serve(() => {
      throw new Error('store unreadable');
    });
    expect((await get(`${server.url}/metrics`)).status).toBe(404);
    const posted = await fetch(`${server.url}/readyz`, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
    expect(await get(`${server.url}/readyz`)).toMatchObject({ status: 503, body: { notReady: [{ part: 'readiness', reason: 'store unreadable' }] } });
  });

  it('report the adapters as connecting until there is a runtime', () => {
    expect(readinessOf(() => undefined)()).toEqual({ ready: false, notReady: [{ part: 'adapters', reason: 'connecting' }] });
  });
});

describe('runtime readiness', () => {
  const part = (name: string, start: () => Promise<void> = async () => undefined): RuntimePart => ({ name, start, stop: async () => undefined });
  const runtimeOf = async (parts: RuntimePart[]): Promise<FieldlinkRuntime> => {
    const config = parseConfig({});
    if (!config.ok) throw new Error('config');
    const built = await createStreamProcessor(config.value);
    if (!built.ok) throw new Error('runtime');
    const { container, feed } = built.value;
    return new FieldlinkRuntime(config.value, container, feed, parts, { close: async () => undefined } as never);
  };

  it('is not ready until every part started, names the part being started and the failure of one that could not, and is not ready once stopping', async () => {
    let release: () => void = () => undefined;
    const runtime = await runtimeOf([part('first'), part('second', () => new Promise<void>((resolve) => (release = resolve))), part('third')]);
    expect(runtime.readiness()).toEqual({
      ready: false,
      notReady: [
        { part: 'first', reason: 'not started' },
        { part: 'second', reason: 'not started' },
        { part: 'third', reason: 'not started' },
      ],
    });
    const started = runtime.start();
    await expect.poll(() => runtime.starting).toBe('second');
    expect(runtime.readiness()).toEqual({
      ready: false,
      notReady: [
        { part: 'second', reason: 'starting' },
        { part: 'third', reason: 'not started' },
      ],
    });
    release();
    await started;
    expect(runtime.readiness()).toEqual({ ready: true });
    await runtime.stop();
    expect(runtime.readiness()).toEqual({ ready: false, notReady: [{ part: 'runtime', reason: 'stopping' }] });

    const failing = await runtimeOf([part('telemetry-ingest', async () => Promise.reject(new Error("consumer group 'rulescg' does not exist")))]);
    await expect(failing.start()).rejects.toThrow('telemetry-ingest could not start');
    expect(failing.readiness()).toEqual({
      ready: false,
      notReady: [{ part: 'telemetry-ingest', reason: "could not start: consumer group 'rulescg' does not exist" }],
    });
  });
});

describe('health.port', () => {
  it('0 starts no server; a taken port is one line naming the address and the setting', async () => {
    const off = parseConfig({});
    if (!off.ok) throw new Error('config');
    expect(await startHealthOf(off.value, 'orchestrator', () => ({ ready: true }))).toEqual({ ok: true, value: undefined });

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const busy = parseConfig({ health: { port } });
      if (!busy.ok) throw new Error('config');
      expect(await startHealthOf(busy.value, 'orchestrator', () => ({ ready: true }))).toEqual({
        ok: false,
        error: {
          code: 'HealthPortUnavailable',
          message: `orchestrator: the health endpoints could not listen on 127.0.0.1:${port} (EADDRINUSE); set health.port (FIELDLINK_HEALTH_PORT) to a free port, or 0 for none`,
          cause: expect.objectContaining({ code: 'EADDRINUSE' }),
        },
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
