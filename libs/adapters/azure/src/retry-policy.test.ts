import { RetryMode, RetryOperationType, retry } from '@azure/core-amqp';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryDelay, sdkRetryOptions } from './retry-policy.js';

describe('retryDelay (the adapters’ own retry loops: a failed telemetry batch, the IoT hub reconnects)', () => {
  it('draws every wait from [0, min(max, base * 2^attempt)]: full jitter under a ceiling that doubles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, maxMs, attempt, r) => {
          const delay = retryDelay({ baseMs, maxMs }, attempt, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, baseMs * 2 ** attempt));
        },
      ),
    );
  });

  it('grows the ceiling with each attempt until the cap', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((attempt) => retryDelay({ baseMs: 1_000, maxMs: 30_000 }, attempt, () => 0.999_999_9));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });
});

describe('sdkRetryOptions (the SDKs’ loops: connect, receive, management and settlement requests)', () => {
  afterEach(() => void vi.useRealTimers());

  it('makes the SDK wait longer before each new attempt, up to the cap (counted on a manual clock)', async () => {
    vi.useFakeTimers();
    const options = sdkRetryOptions({ retryDelayInMs: 1_000, maxRetryDelayInMs: 20_000, maxRetries: 5 });
    expect(options.mode).toBe(RetryMode.Exponential);
    const attemptsAt: number[] = [];
    const start = Date.now();
    const failing = retry({
      operation: async () => {
        attemptsAt.push(Date.now() - start);
        throw Object.assign(new Error('connection lost'), { name: 'MessagingError', retryable: true });
      },
      operationType: RetryOperationType.receiveMessage,
      connectionId: 'test',
      retryOptions: options,
    }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(await failing).toBeInstanceOf(Error);
    const waits = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!);
    expect(waits).toHaveLength(5);
    // The SDK's exponential mode: retryDelayInMs * (2^n - 1), each with ±20 % jitter, capped.
    const bounds = [1, 3, 7, 15, 31].map((factor) => [Math.min(800 * factor, 20_000), Math.min(1_200 * factor, 20_000)] as const);
    waits.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(bounds[i]![0]);
      expect(wait).toBeLessThanOrEqual(bounds[i]![1]);
    });
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBeGreaterThanOrEqual(waits[i - 1]!);
  });

  it('defaults to exponential back-off from 0.5 s up to 30 s, and keeps what it is given', () => {
    expect(sdkRetryOptions()).toMatchObject({ maxRetries: 6, retryDelayInMs: 500, maxRetryDelayInMs: 30_000, timeoutInMs: 20_000 });
    expect(sdkRetryOptions({ maxRetries: 0, timeoutInMs: 5_000 })).toMatchObject({ maxRetries: 0, timeoutInMs: 5_000 });
  });
});
