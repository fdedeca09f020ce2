/**
 * Exponential back-off with full jitter: the n-th wait (n from 0) is drawn uniformly from
 * [0, min(maxMs, baseMs * 2^n)]. Jitter keeps instances that failed together from retrying
 * together (AWS Architecture Blog, "Exponential Backoff And Jitter":
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/; the Azure SDKs'
 * retry policies do the same). The one definition: the flows' queue processor, the Azure
 * adapters' own retry loops, the Dataverse emulator's service endpoint and the thermostat
 * simulator all wait by it.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Past this many doublings the ceiling stops growing (2^30 is far beyond any `maxMs`). */
const MAX_DOUBLINGS = 30;

/**
 * The wait before retry `attempt` (0 for the first retry; below 0 counts as 0), in whole
 * milliseconds. `random` gives values in [0, 1): the caller's source of jitter (the domain draws
 * none of its own), so the wait is a function of its arguments.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), MAX_DOUBLINGS));
  return Math.floor(random() * (ceiling + 1));
}
