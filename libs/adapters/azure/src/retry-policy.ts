import { RetryMode, type RetryOptions } from '@azure/event-hubs';
import type { BackoffPolicy } from '@fieldlink/domain';

/*
 * The adapters' own retry loops (a failed telemetry batch, the IoT hub reconnects) wait by the
 * domain's `backoffDelay`: exponential with full jitter, the policy the flows use too.
 */

/**
 * Attaching the IoT hub's feedback receiver again, and replacing a device's SDK client that gave
 * up: the n-th wait drawn from [0, min(10 s, 1 s * 2^n)].
 */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000 };

/** Retries of the Azure SDKs (Service Bus, Event Hubs): what an adapter may be given. */
export interface SdkRetry {
  readonly maxRetries?: number;
  /** The first wait; the SDK grows it exponentially (1x, 3x, 7x… with ±20 % jitter). */
  readonly retryDelayInMs?: number;
  readonly maxRetryDelayInMs?: number;
  readonly timeoutInMs?: number;
}

/**
 * The SDKs' retry options with exponential back-off. Left alone, @azure/core-amqp retries in
 * `Fixed` mode, 3 times 30 s apart: a receiver whose link dropped stays unread for 30 s, and every
 * instance that lost its connection together retries together. Exponential mode waits
 * `retryDelayInMs * (2^n - 1)` with ±20 % jitter, up to `maxRetryDelayInMs`
 * (https://learn.microsoft.com/javascript/api/@azure/core-amqp/retryoptions).
 */
export function sdkRetryOptions(retry: SdkRetry = {}): RetryOptions {
  return {
    mode: RetryMode.Exponential,
    maxRetries: retry.maxRetries ?? 6,
    retryDelayInMs: retry.retryDelayInMs ?? 500,
    maxRetryDelayInMs: retry.maxRetryDelayInMs ?? 30_000,
    // Per attempt: a request sent on a connection that dropped unnoticed gets no answer, and is
    // sent again on a new connection after this long (the SDKs' default is 60 s).
    timeoutInMs: retry.timeoutInMs ?? 20_000,
  };
}
