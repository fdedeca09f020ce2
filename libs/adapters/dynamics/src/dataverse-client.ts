import { CrmError, silentLog, type LogPort } from '@fieldlink/ports';
import { DynamicsWebApi } from 'dynamics-web-api';
import { Tables, type TableName } from './cfs-tables.js';
import { classifyAttempt, httpStatusOf, redactor, RequestTimedOut, toCrmError } from './dataverse-error.js';
import { AccessTokenCache } from './dataverse-token.js';
import { checkSettings, credentialOf, scopeOf, type DynamicsSettings } from './dynamics-settings.js';
import { isGuid, odataGuid } from './odata-literal.js';
import { defaultServiceProtection, realTiming, ServiceProtectionGate, type Timing } from './service-protection.js';
import type { Row } from './dataverse-rows.js';

/** One guarded write (of a bulk request or on its own), and what became of it. */
export interface BatchWrite {
  readonly table: TableName;
  readonly id: string;
  readonly data: Row;
  /** `create`: only if absent (If-None-Match: *); `update`: only if present (If-Match: *). */
  readonly mode: 'create' | 'update';
}

export type BatchOutcome = { readonly ok: true } | { readonly ok: false; readonly status: number | undefined; readonly error: unknown };

export interface DataverseQuery {
  readonly filter?: string;
  readonly orderBy?: readonly string[];
  readonly top?: number;
  readonly expand?: ReadonlyArray<{ readonly property: string; readonly select: readonly string[] }>;
}

/**
 * The requests to Dataverse's Web API, through dynamics-web-api: each one passes the
 * service-protection gate (concurrency cap, shared Retry-After pause, back-off with jitter) with
 * a time limit, its access token comes from the token cache, and its failure becomes a
 * `CrmError` with every known secret cut out and the HTTP status on it. The CRM logic on top is
 * `DynamicsCrmGateway`'s; `$batch` is dataverse-batch.ts's.
 */
export class DataverseClient {
  readonly gate: ServiceProtectionGate;
  readonly api: DynamicsWebApi;
  readonly log: LogPort;
  readonly redact: (text: string) => string;
  readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly timing: Timing;

  constructor(settings: DynamicsSettings, options: { readonly log?: LogPort; readonly timing?: Timing } = {}) {
    const problems = checkSettings(settings);
    if (problems.length > 0) throw new CrmError('Rejected', `Dynamics settings refused: ${problems.join('; ')}`);
    this.log = options.log ?? silentLog;
    this.timing = options.timing ?? realTiming;
    const credential = credentialOf(settings);
    const tokens = credential === undefined ? undefined : new AccessTokenCache(credential, scopeOf(settings.organizationUrl), () => this.timing.now());
    this.redact = redactor(() => [settings.clientSecret?.secret, tokens?.current]);
    this.timeoutMs = settings.requestTimeoutMs ?? 30_000;
    this.batchSize = settings.batchSize ?? 10;
    this.gate = new ServiceProtectionGate({ ...defaultServiceProtection, ...settings.serviceProtection }, this.timing);
    this.api = new DynamicsWebApi({
      serverUrl: settings.organizationUrl,
      dataApi: { version: settings.webApiVersion ?? '9.2' },
      propagateErrors: true,
      ...(tokens !== undefined ? { onTokenRefresh: () => tokens.get() } : {}),
    });
  }

  /** Runs one request under the gate, with a time limit, and maps its failure to a CrmError. */
  async exec<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(
        async () => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), this.timeoutMs);
          try {
            return await call(controller.signal);
          } catch (error) {
            if (controller.signal.aborted) throw new RequestTimedOut(this.timeoutMs);
            throw error;
          } finally {
            clearTimeout(timer);
          }
        },
        (error) => classifyAttempt(error, this.timing.now()),
        {
          throttled: (ms, attempt) => this.log.warn('dynamics.throttled', { operation, retryAfterMs: ms, attempt }),
          retrying: (ms, attempt) => this.log.warn('dynamics.retrying', { operation, delayMs: ms, attempt }),
        },
      );
    } catch (error) {
      const crmError = toCrmError(operation, error, this.redact);
      if (crmError.code !== 'NotFound' && crmError.status !== 412)
        this.log.warn('dynamics.request-failed', { operation, code: crmError.code, message: crmError.message });
      throw crmError;
    }
  }

  /** The row with this id, or undefined when there is none (or the id is no GUID). */
  async retrieve(table: TableName, id: string, select: readonly string[]): Promise<Row | undefined> {
    if (!isGuid(id)) return undefined;
    try {
      return await this.exec(`retrieve ${Tables[table].entity}`, (signal) =>
        this.api.retrieve<Row>({ collection: Tables[table].set, key: odataGuid(id), select: [...select], signal }),
      );
    } catch (e) {
      if (e instanceof CrmError && e.code === 'NotFound') return undefined;
      throw e;
    }
  }

  /** Every row of the query, following the server's pages until `top` rows (or all). */
  async query(table: TableName, select: readonly string[], q: DataverseQuery): Promise<Row[]> {
    const rows: Row[] = [];
    let next: string | undefined;
    do {
      const page = next;
      const response = await this.exec(`retrieve ${Tables[table].set}`, (signal) =>
        this.api.retrieveMultiple<Row>(
          {
            collection: Tables[table].set,
            select: [...select],
            ...(q.filter !== undefined ? { filter: q.filter } : {}),
            ...(q.orderBy !== undefined ? { orderBy: [...q.orderBy] } : {}),
            ...(q.top !== undefined ? { top: q.top } : {}),
            ...(q.expand !== undefined ? { expand: q.expand.map((e) => ({ property: e.property, select: [...e.select] })) } : {}),
            signal,
          },
          page,
        ),
      );
      rows.push(...response.value);
      next = response.oDataNextLink;
    } while (next !== undefined && (q.top === undefined || rows.length < q.top));
    return rows;
  }

  /** One guarded write as its own request; a 412 (create) or 404 (update) is an outcome, not an error. */
  async guardedWrite(operation: string, write: BatchWrite): Promise<BatchOutcome> {
    try {
      await this.exec(operation, (signal) =>
        this.api.upsert({
          collection: Tables[write.table].set,
          key: write.id,
          data: write.data,
          ...(write.mode === 'create' ? { ifnonematch: '*' } : { ifmatch: '*' }),
          signal,
        }),
      );
      return { ok: true };
    } catch (error) {
      const status = error instanceof CrmError ? (error.code === 'NotFound' ? 404 : error.status) : httpStatusOf(error);
      return { ok: false, status, error };
    }
  }

  /** Throws the outcome's failure as a CrmError unless it is "the record exists already" (412). */
  failUnlessExists(operation: string, outcome: BatchOutcome): void {
    if (!outcome.ok && outcome.status !== 412) throw toCrmError(operation, outcome.error, this.redact);
  }
}
