// Shared by the flows: the only waits on the event loop (exempt from the purity lint, see eslint.config.mjs).
/*
 * Timers schedule work; they do not tell the time. The flows read the time from `ClockPort` and
 * make ids with `IdPort`; what waits on the event loop is here, so the purity lint can ban the
 * timer globals everywhere else in the flows.
 */

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `tick` every `ms` without keeping the process alive; the returned function stops it. */
export function every(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** Lets waiting batches run: resolves after the I/O and timers already due. */
export const yieldToBatches = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets the event loop turn twice: what the first turn queued (a delivery, the alerts it raises) gets a turn of its own. */
export const twoTurns = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
