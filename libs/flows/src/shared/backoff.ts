// Shared by the flows: exponential back-off with full jitter.
import { systemRandom } from './system-sources.js';

/**
 * Exponential back-off with full jitter: the n-th wait (n from 0) is drawn uniformly from
 * [0, min(maxMs, baseMs * 2^n)]. Jitter keeps instances that failed together from retrying
 * together (AWS Architecture Blog, "Exponential Backoff And Jitter":
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/; the Azure SDKs'
 * retry policies do the same).
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The wait before retry `attempt` (0 for the first retry); `random` in [0, 1). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = systemRandom): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.floor(random() * (ceiling + 1));
}

export { sleep } from './timers.js';
