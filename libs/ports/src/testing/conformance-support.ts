import { randomUUID } from 'node:crypto';

/**
 * Small helpers the conformance suites share. Every suite names its records with fresh unique
 * ids, so a suite can run against a real service whose data outlives one test.
 */

/** A fresh GUID: Dataverse and the hub accept it as a record id. */
export const newGuid = (): string => randomUUID();

/** A fresh hub device id with a readable prefix; `'` in the prefix is kept on purpose. */
export const uniqueDeviceId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const textOf = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/**
 * Retries `probe` until it stops throwing, or fails with its last error after `timeoutMs` of
 * real time. For effects that an adapter may apply a moment later (feedback, connection state).
 */
export async function eventually<T>(probe: () => Promise<T> | T, timeoutMs = 10_000, pollMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

/**
 * Waits until `probe` gives a value (anything but `undefined`) and answers it, or fails after
 * `timeoutMs` naming `what` it waited for. `eventually` with a value to wait for: the one wait
 * loop of the tests, so none sleeps a fixed time. `pollMs` spaces probes that cost something
 * (an HTTP request to a service under test).
 */
export const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, pollMs = 20): Promise<T> =>
  eventually(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    timeoutMs,
    pollMs,
  );
