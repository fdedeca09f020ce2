import { describe, expect, it } from 'vitest';
import { AttemptsExhausted, parseRetryAfter, ServiceProtectionGate, type AttemptVerdict, type Timing } from './service-protection.js';

/** Time that only moves when someone sleeps: the gate's waits become observable and instant. */
class VirtualTime implements Timing {
  t = 0;
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    await Promise.resolve();
    this.t = Math.max(this.t, this.t + ms);
  };
  random = (): number => 0.5;
}

const throttled = (retryAfterMs: number): AttemptVerdict => ({ kind: 'throttled', retryAfterMs });

describe('ServiceProtectionGate', () => {
  it('never has more requests in flight than its cap', async () => {
    const gate = new ServiceProtectionGate({ maxConcurrency: 3, maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, defaultRetryAfterMs: 1 });
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        gate.run(
          async () => {
            peak = Math.max(peak, ++active);
            await new Promise((r) => setTimeout(r, 2));
            active--;
          },
          () => ({ kind: 'final' }),
        ),
      ),
    );
    expect(peak).toBe(3);
  });

  it("pauses every caller for one caller's Retry-After, not only the one that was told", async () => {
    const time = new VirtualTime();
    const gate = new ServiceProtectionGate({ maxConcurrency: 52, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, defaultRetryAfterMs: 1 }, time);
    const started: Array<{ who: string; at: number }> = [];
    let first = true;
    const a = gate.run(
      async () => {
        started.push({ who: 'a', at: time.t });
        if (first) {
          first = false;
          throw new Error('429');
        }
      },
      () => throttled(2_000),
    );
    await a;
    // b starts after a was throttled: it must wait out the same pause.
    await gate.run(
      async () => void started.push({ who: 'b', at: time.t }),
      () => ({ kind: 'final' }),
    );
    expect(started).toEqual([
      { who: 'a', at: 0 },
      { who: 'a', at: 2_000 },
      { who: 'b', at: 2_000 },
    ]);
    expect(gate.throttled).toBe(1);
  });

  it('backs off exponentially with jitter on transient failures, then gives up', async () => {
    const time = new VirtualTime();
    const gate = new ServiceProtectionGate({ maxConcurrency: 1, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, defaultRetryAfterMs: 1 }, time);
    const failure = new Error('503');
    await expect(
      gate.run(
        async () => Promise.reject(failure),
        () => ({ kind: 'transient' }),
      ),
    ).rejects.toSatisfy((e: unknown) => e instanceof AttemptsExhausted && e.lastError === failure && e.attempts === 4);
    // random() = 0.5 of min(250, 100·2^(n-1)).
    expect(time.sleeps).toEqual([50, 100, 125]);
  });

  it('does not retry a final failure', async () => {
    const gate = new ServiceProtectionGate();
    let calls = 0;
    await expect(
      gate.run(
        async () => Promise.reject(new Error(`400 #${++calls}`)),
        () => ({ kind: 'final' }),
      ),
    ).rejects.toThrow('400 #1');
    expect(calls).toBe(1);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter(['1.5'], 0)).toBe(1_500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
