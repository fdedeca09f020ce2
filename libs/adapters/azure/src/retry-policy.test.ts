import { RetryMode, RetryOperationType, retry } from '@azure/core-amqp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sdkRetryOptions } from './retry-policy.js';

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
