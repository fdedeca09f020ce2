import { waitFor } from '@fieldlink/ports/testing';
import { getFfiLib } from '@pact-foundation/pact-core';

/**
 * Waits until Pact's mock server has recorded every request it already answered, so that the
 * verification `executeTest` runs next reads a complete record. Call it last in a consumer test's
 * callback, after the client's requests have returned.
 *
 * Why: the mock server of pact-core 19 (the newest that runs on Node 20) answers a request first
 * and records the match on another task. Under CPU load the verification can read the record
 * before that task ran, and reports a request the client sent and had answered as "expected but
 * not received" (pact-foundation/pact-core-mock-server#13, pact-reference#535). The wait ends as
 * soon as the record is whole; when an interaction really is missing, it gives up after
 * `limitMs` and Pact reports the mismatch as before.
 */
export async function settleMockServer(server: { readonly port: number }, limitMs = 2_000): Promise<void> {
  const ffi = getFfiLib();
  const matched = () => (ffi.pactffiMockServerMatched(server.port) ? true : undefined);
  await waitFor('the mock server to record every request it answered', matched, limitMs, 5).catch(() => undefined);
}

/** `testFn`, followed by `settleMockServer`: pass it to `executeTest` in place of the bare callback. */
export function settled<S extends { readonly port: number }, T>(testFn: (server: S) => Promise<T>): (server: S) => Promise<T> {
  return async (server) => {
    try {
      return await testFn(server);
    } finally {
      await settleMockServer(server);
    }
  };
}
