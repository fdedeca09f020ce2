import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Something a service waits for before it is ready, and why it is not (yet). */
export interface NotReady {
  readonly part: string;
  readonly reason: string;
}

/** What `/readyz` answers: ready, or the parts that are not. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly notReady: readonly NotReady[] };

export interface HealthServerOptions {
  /** The service's name, in every answer. */
  readonly service: string;
  /** Loopback by default. */
  readonly host?: string;
  /** 0: any free port (tests). */
  readonly port: number;
  readonly readiness: () => Readiness;
}

export interface HealthServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The health endpoints of a long-running service, for a process supervisor, a container
 * orchestrator's probes or a load balancer:
 * - `GET /healthz`: 200 `{"status":"alive"}` while the process runs (a liveness probe);
 * - `GET /readyz`: 200 `{"status":"ready"}` once every part started (its adapters connected), else
 *   503 `{"status":"not-ready","notReady":[{"part","reason"}]}` naming what is not.
 * Anything else is 404; a method other than GET or HEAD is 405.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: Record<string, unknown>): void => {
      const text = JSON.stringify({ service: options.service, ...body });
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
      response.end(request.method === 'HEAD' ? undefined : text);
    };
    if (path !== '/healthz' && path !== '/readyz') return send(404, { error: `no such endpoint: ${path}; /healthz or /readyz` });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(405, { error: `method ${request.method} not allowed` });
    }
    if (path === '/healthz') return send(200, { status: 'alive' });
    let readiness: Readiness;
    try {
      readiness = options.readiness();
    } catch (e) {
      readiness = { ready: false, notReady: [{ part: 'readiness', reason: (e as Error).message }] };
    }
    return readiness.ready ? send(200, { status: 'ready' }) : send(503, { status: 'not-ready', notReady: readiness.notReady });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A probe's keep-alive connection must not hold a stopping process.
  server.keepAliveTimeout = 1_000;
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Readiness while a service builds what it runs, then what `current` says once there is one. */
export const readinessOf =
  (current: () => { readiness(): Readiness } | undefined, building = 'adapters'): (() => Readiness) =>
  () =>
    current()?.readiness() ?? { ready: false, notReady: [{ part: building, reason: 'connecting' }] };
