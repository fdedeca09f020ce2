/**
 * Dataverse service protection, as the client side of it: at most `maxConcurrency` requests in
 * flight (Dataverse allows 52 per user), a `Retry-After` from one 429 pauses every caller of the
 * gate until it has passed (not only the one that was told), and other transient failures (503,
 * time-outs, reset connections) are retried after an exponential back-off with full jitter.
 */

export interface ServiceProtectionSettings {
  /** Requests in flight at once; Dataverse's limit per user is 52. */
  readonly maxConcurrency: number;
  /** Attempts per operation, the first included, before it fails as Transient. */
  readonly maxAttempts: number;
  /** Back-off of the first retry of a 503 or time-out; doubles per attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Used when a 429 carries no usable Retry-After. */
  readonly defaultRetryAfterMs: number;
}

export const defaultServiceProtection: ServiceProtectionSettings = {
  maxConcurrency: 52,
  maxAttempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 30_000,
  defaultRetryAfterMs: 5_000,
};

export interface Timing {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** How one attempt ended, as far as retrying is concerned. */
export type AttemptVerdict =
  { readonly kind: 'throttled'; readonly retryAfterMs: number | undefined } | { readonly kind: 'transient' } | { readonly kind: 'final' };

export interface RetryObserver {
  throttled?(retryAfterMs: number, attempt: number): void;
  retrying?(delayMs: number, attempt: number): void;
}

/** Thrown when every attempt was used; carries the last failure. */
export class AttemptsExhausted extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`gave up after ${attempts} attempts`);
    this.name = 'AttemptsExhausted';
  }
}

export class ServiceProtectionGate {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private pausedUntil = 0;
  private throttledCount = 0;

  constructor(
    readonly settings: ServiceProtectionSettings = defaultServiceProtection,
    private readonly timing: Timing = realTiming,
  ) {
    if (!(settings.maxConcurrency >= 1)) throw new RangeError('maxConcurrency must be at least 1');
    if (!(settings.maxAttempts >= 1)) throw new RangeError('maxAttempts must be at least 1');
  }

  /** 429 answers seen so far, for logs and tests. */
  get throttled(): number {
    return this.throttledCount;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Every caller waits until then before it starts a request. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.timing.now() + ms);
  }

  /**
   * Runs `attempt` under the gate, retrying as `classify` says. Throws the final error as is, or
   * `AttemptsExhausted` when retries ran out.
   */
  async run<T>(attempt: () => Promise<T>, classify: (error: unknown) => AttemptVerdict, observer: RetryObserver = {}): Promise<T> {
    let lastError: unknown;
    for (let n = 1; n <= this.settings.maxAttempts; n++) {
      await this.acquire();
      let verdict: AttemptVerdict;
      try {
        return await attempt();
      } catch (error) {
        lastError = error;
        verdict = classify(error);
      } finally {
        this.release();
      }
      if (verdict.kind === 'final') throw lastError;
      if (n === this.settings.maxAttempts) break;
      if (verdict.kind === 'throttled') {
        this.throttledCount++;
        const wait = verdict.retryAfterMs ?? this.settings.defaultRetryAfterMs;
        this.pauseFor(wait);
        observer.throttled?.(wait, n);
      } else {
        const delay = this.backoff(n);
        observer.retrying?.(delay, n);
        await this.timing.sleep(delay);
      }
    }
    throw new AttemptsExhausted(this.settings.maxAttempts, lastError);
  }

  /** Full jitter: uniform in [0, min(max, base·2^(n-1))]. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(this.timing.random() * ceiling);
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - this.timing.now();
      if (wait > 0) {
        await this.timing.sleep(wait);
        continue;
      }
      if (this.inFlight < this.settings.maxConcurrency) {
        this.inFlight++;
        return;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

/** `Retry-After` as seconds (Dataverse) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' && typeof text !== 'number') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(String(text));
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
