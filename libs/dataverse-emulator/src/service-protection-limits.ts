/**
 * Dataverse's service protection, in small: past `maxRequests` in a fixed window the emulator
 * answers 429 with `Retry-After` (whole seconds, until the window ends), as an organisation does
 * past 6,000 requests per user in 5 minutes.
 */
export interface ServiceProtectionLimitSettings {
  readonly maxRequests: number;
  readonly windowMs: number;
}

export class ServiceProtectionLimits {
  private windowStart: number;
  private count = 0;

  constructor(
    private readonly settings: ServiceProtectionLimitSettings,
    private readonly now: () => number,
  ) {
    if (!(settings.maxRequests >= 1) || !(settings.windowMs >= 1)) throw new RangeError('serviceProtection: maxRequests and windowMs must be at least 1');
    this.windowStart = now();
  }

  /** Undefined when the request may pass; otherwise how long to wait. */
  admit(): { readonly retryAfterSeconds: number; readonly message: string } | undefined {
    const now = this.now();
    if (now - this.windowStart >= this.settings.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    if (this.count < this.settings.maxRequests) {
      this.count++;
      return undefined;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((this.windowStart + this.settings.windowMs - now) / 1000));
    return {
      retryAfterSeconds,
      message: `Number of requests exceeded the limit of ${this.settings.maxRequests} over time window of ${this.settings.windowMs / 1000} seconds.`,
    };
  }
}
