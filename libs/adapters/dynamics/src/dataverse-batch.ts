import { Tables } from './cfs-tables.js';
import type { BatchOutcome, BatchWrite, DataverseClient } from './dataverse-client.js';
import { httpStatusOf } from './dataverse-error.js';
import { chunk } from './dataverse-rows.js';

/*
 * Dataverse `$batch` requests (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api):
 * many guarded writes in one HTTP request, either each on its own (`continueOnError`) or in
 * changesets that apply all or nothing.
 */

/** `$batch` requests of `batchSize` operations, each outside any changeset and processed even when another fails. */
export async function writeIndependently(client: DataverseClient, operation: string, writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
  const out: BatchOutcome[] = [];
  for (const part of chunk(writes, client.batchSize)) out.push(...(await executeBatch(client, operation, part, false)));
  return out;
}

/**
 * `$batch` requests with one changeset of `batchSize` operations each: all of a changeset or
 * none. A changeset that fails is written again one operation at a time, so one missing record
 * does not keep the others from being written.
 */
export async function writeInChangesets(client: DataverseClient, operation: string, writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
  const outcomes = await Promise.all(
    chunk(writes, client.batchSize).map(async (part) => {
      const result = await executeBatch(client, operation, part, true);
      if (result.every((r) => r.ok)) return result;
      return Promise.all(part.map((w) => client.guardedWrite(operation, w)));
    }),
  );
  return outcomes.flat();
}

async function executeBatch(client: DataverseClient, operation: string, writes: readonly BatchWrite[], inChangeSet: boolean): Promise<BatchOutcome[]> {
  const responses = await client.exec(`${operation} ($batch)`, async (signal) => {
    // A batch is collected on its own client instance: startBatch() switches the whole instance into batch mode.
    const batch = client.api.initializeInstance();
    batch.startBatch();
    for (const w of writes) {
      void batch.upsert({
        collection: Tables[w.table].set,
        key: w.id,
        data: w.data,
        ...(w.mode === 'create' ? { ifnonematch: '*' } : { ifmatch: '*' }),
        inChangeSet,
      });
    }
    const result = await batch.executeBatch({ ...(inChangeSet ? {} : { continueOnError: true }), signal });
    // A throttled or unavailable batch comes back as one error part: retry the whole batch.
    const throttled = result.find((r) => r instanceof Error && (httpStatusOf(r) === 429 || httpStatusOf(r) === 503));
    if (throttled !== undefined) throw throttled;
    return result;
  });
  if (inChangeSet) {
    // A failed changeset answers with the one failing operation's error.
    const failure = responses.find((r) => r instanceof Error);
    if (failure !== undefined) return writes.map(() => ({ ok: false as const, status: httpStatusOf(failure), error: failure }));
    return writes.map(() => ({ ok: true as const }));
  }
  return writes.map((_, i) => {
    const r = responses[i];
    return r instanceof Error ? { ok: false as const, status: httpStatusOf(r), error: r } : { ok: true as const };
  });
}
