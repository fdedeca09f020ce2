import { CrmError, type CrmErrorCode } from '@fieldlink/ports';
import { AttemptsExhausted, parseRetryAfter, type AttemptVerdict } from './service-protection.js';

/** What dynamics-web-api rejects with: an Error with the HTTP status and Dataverse's error fields. */
interface WebApiFailure {
  readonly status?: number;
  readonly code?: string;
  readonly message?: string;
  readonly name?: string;
  readonly headers?: Record<string, unknown>;
}

const failureOf = (error: unknown): WebApiFailure => (typeof error === 'object' && error !== null ? (error as WebApiFailure) : { message: String(error) });

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/** Raised by the adapter when its own time limit for one request passed. */
export class RequestTimedOut extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimedOut';
  }
}

/** Raised when no access token could be had; never carries the credential's own message. */
export class TokenUnavailable extends Error {
  constructor(readonly causeName: string) {
    super(`no access token (${causeName})`);
    this.name = 'TokenUnavailable';
  }
}

export function httpStatusOf(error: unknown): number | undefined {
  const status = failureOf(error).status;
  return typeof status === 'number' ? status : undefined;
}

/** Whether to retry: 429 waits for Retry-After (shared), 503/502/504 and lost connections back off. */
export function classifyAttempt(error: unknown, now: number): AttemptVerdict {
  if (error instanceof RequestTimedOut) return { kind: 'transient' };
  const failure = failureOf(error);
  if (failure.status === 429) return { kind: 'throttled', retryAfterMs: parseRetryAfter(headerOf(failure.headers, 'retry-after'), now) };
  if (failure.status === 503 || failure.status === 502 || failure.status === 504) return { kind: 'transient' };
  if (
    failure.status === undefined &&
    (NETWORK_CODES.has(failure.code ?? '') || failure.name === 'AbortError' || /socket hang up/i.test(failure.message ?? ''))
  ) {
    return { kind: 'transient' };
  }
  return { kind: 'final' };
}

function headerOf(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (headers === undefined) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function codeFor(status: number | undefined, error: unknown): CrmErrorCode {
  if (error instanceof TokenUnavailable) return 'Unauthorized';
  if (status === 401 || status === 403) return 'Unauthorized';
  if (status === 404) return 'NotFound';
  if (status === undefined || status === 429 || status >= 500) return 'Transient';
  return 'Rejected';
}

/**
 * Turns whatever failed into a CrmError naming the operation and what Dataverse said, with every
 * known secret (client secret, access token) cut out: errors end up in logs and dead letters.
 * The HTTP status Dataverse answered with stays on the error (`status`); the failure itself is
 * not kept as its `cause`, since its message and headers may carry a secret.
 */
export function toCrmError(operation: string, error: unknown, redact: (text: string) => string): CrmError {
  if (error instanceof CrmError)
    return new CrmError(error.code, redact(error.message), {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.cause === undefined ? {} : { cause: error.cause }),
    });
  const exhausted = error instanceof AttemptsExhausted;
  const last = exhausted ? error.lastError : error;
  const failure = failureOf(last);
  const status = httpStatusOf(last);
  const what = status !== undefined ? `Dataverse answered ${status}` : last instanceof Error ? `${last.name}: ${last.message}` : String(last);
  const detail = status !== undefined && failure.message ? `: ${failure.message}` : '';
  const code = exhausted ? 'Transient' : codeFor(status, last);
  const suffix = exhausted ? ` (gave up after ${error.attempts} attempts)` : '';
  return new CrmError(code, redact(`${operation} failed, ${what}${detail}${suffix}`), {
    ...(status === undefined ? {} : { status }),
    cause: redactedCopy(last, redact),
  });
}

/** The failure underneath, fit to be a `cause`: its name and message with every secret taken out, not the object itself (which may hold a token). */
function redactedCopy(error: unknown, redact: (text: string) => string): Error {
  const copy = new Error(redact(error instanceof Error ? error.message : String(error)));
  copy.name = error instanceof Error ? error.name : 'Error';
  return copy;
}

/** Replaces each secret (of 4 characters or more) wherever it appears. */
export function redactor(secrets: () => readonly (string | undefined)[]): (text: string) => string {
  return (text) => {
    let out = text;
    for (const secret of secrets()) if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
    return out;
  };
}
