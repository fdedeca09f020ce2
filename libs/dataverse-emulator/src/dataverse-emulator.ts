import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackoffPolicy } from '@fieldlink/domain';
import { ServiceEndpointMessageFormat, silentLog, type LogPort, type MessageQueuePort } from '@fieldlink/ports';
import { executeBatch } from './batch-request.js';
import { CFS_TABLES, stockTables } from './cfs-schema.js';
import { DataverseFault } from './dataverse-fault.js';
import { IoTServiceEndpoint, type PendingContext } from './iot-service-endpoint.js';
import { RecordStore } from './record-store.js';
import { DATAVERSE_MAX_REQUEST_BYTES, readCappedBody, RequestGuard } from './request-guard.js';
import { readSolutionColumns } from './solution-import.js';
import { ServiceProtectionLimits, type ServiceProtectionLimitSettings } from './service-protection-limits.js';
import { DataverseWebApi } from './web-api.js';

export interface DataverseEmulatorOptions {
  /** 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** A SQLite file, or `:memory:` (the default). */
  readonly database?: string;
  /** The outbound queue the IoT service endpoint posts RemoteExecutionContext messages to. */
  readonly outboundQueue?: MessageQueuePort;
  /**
   * Every request must carry `Authorization: Bearer <token>`, as Dataverse requires. Without this
   * setting any non-empty token is taken (any client that signs in works); with it, only this one.
   */
  readonly accessToken?: string;
  /** The largest request body taken, in bytes; Dataverse's 128 MB by default. */
  readonly maxRequestBytes?: number;
  /** Answer 429 with Retry-After past this many requests per window, as Dataverse does. */
  readonly serviceProtection?: ServiceProtectionLimitSettings;
  readonly organizationName?: string;
  /**
   * The IoT service endpoint's `messageformat`: 1 Binary XML, 2 Json (the default here), 3 Text
   * XML. A Dataverse registration defaults to Binary XML, which Fieldlink does not read.
   */
  readonly serviceEndpointMessageFormat?: ServiceEndpointMessageFormat;
  /** The size over which the endpoint strips a context (192 KB, as Dataverse); smaller only in tests. */
  readonly serviceEndpointMaxMessageBytes?: number;
  /** Back-off between tries of a service-endpoint message the outbound queue refused (default 1 s doubling to 30 s, full jitter). */
  readonly serviceEndpointRetry?: BackoffPolicy;
  /**
   * Unmanaged solutions (zip files, or their bytes) imported into the organisation before it
   * serves: their columns are added to the stock tables, as importing them into Dynamics 365
   * would. Without any, the organisation is stock: CFS installed and nothing more.
   */
  readonly solutions?: ReadonlyArray<string | Uint8Array>;
  readonly log?: LogPort;
  readonly now?: () => number;
}

export interface EmulatorStats {
  readonly requests: number;
  readonly throttled: number;
  /** Requests answered 503 while `unavailable` was in force. */
  readonly unavailable: number;
  /** When each request arrived (epoch ms) and whether it was answered 429. */
  readonly arrivals: ReadonlyArray<{ readonly at: number; readonly throttled: boolean; readonly method: string; readonly path: string }>;
  /** RemoteExecutionContext messages posted to the outbound queue. */
  readonly posted: number;
  /** Messages the outbound queue refused, waiting to be tried again (with back-off). */
  readonly pendingPosts: number;
}

export interface RunningDataverseEmulator {
  /** The organisation URL to give a client (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /** The Web API root (`<url>/api/data/v9.2/`). */
  readonly webApiUrl: string;
  stats(): EmulatorStats;
  /**
   * Fault injection: for `forMs` every request is answered 503 Service Unavailable, as an
   * organisation is during an incident or a failover; a client retries with back-off.
   */
  unavailable(forMs: number): void;
  /** Records in a table (entity set name), for tests and the benchmark. */
  count(entitySet: string): number;
  close(): Promise<void>;
}

const WEB_API_PATH = '/api/data/v9.2/';

/** A post of the service endpoint as the store keeps it until the queue takes it: its context and the message id it goes under. */
interface Post {
  readonly context: PendingContext;
  readonly messageId: string;
}

/**
 * A local stand-in for a Dataverse organisation with Connected Field Service: the Web API v9.2
 * subset the Dynamics adapter uses, over HTTP on loopback, stored in SQLite, with the CFS IoT
 * service endpoint posting to the outbound queue. Started and stopped by whoever needs it.
 */
export async function startDataverseEmulator(options: DataverseEmulatorOptions = {}): Promise<RunningDataverseEmulator> {
  const now = options.now ?? (() => Date.now());
  const log = options.log ?? silentLog;
  const solutions = (options.solutions ?? []).map((zip) => readSolutionColumns(zip));
  const tables = solutions.length === 0 ? CFS_TABLES : stockTables(undefined, mergeColumns(solutions));
  const store = new RecordStore(options.database ?? ':memory:', tables, now);
  let webApiUrl = '';
  let organizationUri = '';
  const endpoint = new IoTServiceEndpoint(
    options.outboundQueue,
    {
      organizationId: randomUUID(),
      organizationName: options.organizationName ?? 'fieldlink-emulator',
      businessUnitId: randomUUID(),
      userId: randomUUID(),
      organizationUri: () => organizationUri,
    },
    log,
    now,
    (set) => store.table(set),
    {
      messageFormat: options.serviceEndpointMessageFormat ?? ServiceEndpointMessageFormat.Json,
      ...(options.serviceEndpointMaxMessageBytes === undefined ? {} : { maxMessageBytes: options.serviceEndpointMaxMessageBytes }),
      ...(options.serviceEndpointRetry === undefined ? {} : { retry: options.serviceEndpointRetry }),
    },
  );
  const api = new DataverseWebApi(store, endpoint, () => webApiUrl);
  const limits = options.serviceProtection === undefined ? undefined : new ServiceProtectionLimits(options.serviceProtection, now);
  const arrivals: Array<{ at: number; throttled: boolean; method: string; path: string }> = [];
  let requests = 0;
  let throttled = 0;
  let unavailableUntil = 0;
  let unavailable = 0;

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body?: string): void => {
    res.writeHead(status, { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) });
    res.end(body);
  };

  const guard = new RequestGuard({
    host: options.host ?? '127.0.0.1',
    maxRequestBytes: options.maxRequestBytes ?? DATAVERSE_MAX_REQUEST_BYTES,
    ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
  });

  const refuse = (res: ServerResponse, fault: DataverseFault): void => {
    // The sign-in challenge has an empty body, as Dataverse's; every other refusal its error JSON.
    if (fault.status === 401) send(res, 401, { ...fault.headers, 'Content-Length': '0' });
    else send(res, fault.status, { 'Content-Type': 'application/json', 'OData-Version': '4.0', ...fault.headers }, fault.body());
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = guard.check(req, organizationUri);
    if (refused !== undefined) {
      // What is not read is not kept: the connection closes after the answer.
      res.setHeader('Connection', 'close');
      return refuse(res, refused);
    }
    const read = await readCappedBody(req, guard.maxRequestBytes);
    if (!read.ok) {
      res.setHeader('Connection', 'close');
      return refuse(res, read.error);
    }
    const body = read.value;
    const url = new URL(req.url ?? '/', 'http://emulator');
    requests++;
    const verdict = limits?.admit();
    arrivals.push({ at: now(), throttled: verdict !== undefined, method: req.method ?? '', path: url.pathname });
    if (now() < unavailableUntil) {
      unavailable++;
      send(
        res,
        503,
        { 'Content-Type': 'application/json' },
        new DataverseFault(503, '0x80040216', 'The service is temporarily unavailable. Please try again later.').body(),
      );
      return;
    }
    if (verdict !== undefined) {
      throttled++;
      send(
        res,
        429,
        { 'Content-Type': 'application/json', 'Retry-After': String(verdict.retryAfterSeconds) },
        new DataverseFault(429, '0x80072322', verdict.message).body(),
      );
      return;
    }
    if (!url.pathname.startsWith(WEB_API_PATH)) {
      send(
        res,
        404,
        { 'Content-Type': 'application/json' },
        new DataverseFault(404, '0x80060888', `No Web API at ${url.pathname.slice(0, 200)}; it is at ${WEB_API_PATH}.`).body(),
      );
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const target = (req.url ?? '').slice((req.url ?? '').indexOf(WEB_API_PATH) + WEB_API_PATH.length);
    const effects: PendingContext[] = [];
    const request = { method: req.method ?? 'GET', target, headers, body };
    // The operation and the posts it asks for are written in one transaction (see `keepPosts`): a
    // stop between the commit and the queue taking them loses none, the next start posts them.
    const { response, kept } = store.transaction(() => {
      const response = target === '$batch' && request.method === 'POST' ? batchOrFault(request, effects) : api.handle(request, effects);
      // With no queue there is no service endpoint to post to, and nothing to keep.
      const posts = options.outboundQueue === undefined ? [] : effects.map((context): Post => ({ context, messageId: context.requestId ?? randomUUID() }));
      return { response, kept: store.keepPosts(posts) };
    });
    await resumed;
    await postKept(kept);
    send(res, response.status, response.headers, response.body);
  };

  /** The posts an earlier run kept and did not make, made before any of this run's (see below). */
  let resumed: Promise<void> = Promise.resolve();
  /** Posts what the store keeps, each kept post let go once the queue took it. */
  const postKept = (kept: ReadonlyArray<{ readonly id: number; readonly post: Post }>): Promise<void> =>
    endpoint.post(kept.map(({ id, post }) => ({ context: post.context, messageId: post.messageId, made: () => store.postMade(id) })));

  const batchOrFault = (request: Parameters<typeof executeBatch>[2], effects: PendingContext[]) => {
    try {
      return executeBatch(api, store, request, WEB_API_PATH, effects);
    } catch (e) {
      if (e instanceof DataverseFault) return { status: e.status, headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0' }, body: e.body() };
      throw e;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error('dataverse-emulator.request-failed', { reason: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent)
        send(res, 500, { 'Content-Type': 'application/json' }, new DataverseFault(500, '0x80040216', 'An unexpected error occurred.').body());
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  webApiUrl = `${url}${WEB_API_PATH}`;
  organizationUri = url;
  log.info('dataverse-emulator.listening', { url });
  // What a run before this one kept and did not post (it stopped first): posted now, in order, with the message ids it had.
  const waiting = store.keptPosts();
  if (waiting.length > 0) {
    log.info('dataverse-emulator.service-endpoint-resumed', { waiting: waiting.length });
    resumed = postKept(waiting.map((w) => ({ id: w.id, post: w.post as Post })));
    await resumed;
  }

  return {
    url,
    webApiUrl,
    stats: () => ({ requests, throttled, unavailable, arrivals: [...arrivals], posted: endpoint.posted, pendingPosts: endpoint.pendingRetries }),
    unavailable: (forMs) => {
      unavailableUntil = Math.max(unavailableUntil, now() + forMs);
    },
    count: (entitySet) => {
      const table = store.table(entitySet);
      if (table === undefined) throw new Error(`no table ${entitySet}`);
      return store.count(table);
    },
    close: async () => {
      endpoint.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}

function mergeColumns(all: ReadonlyArray<ReturnType<typeof readSolutionColumns>>): ReturnType<typeof readSolutionColumns> {
  const out: ReturnType<typeof readSolutionColumns> = {};
  for (const solution of all) for (const [table, columns] of Object.entries(solution)) Object.assign((out[table] ??= {}), columns);
  return out;
}
