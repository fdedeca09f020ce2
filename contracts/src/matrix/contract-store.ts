import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PactFileSummary, VerificationRecord } from './coverage-matrix.js';

/** The workspace root, from this file's place in it. */
export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Committed pact files, written by the consumer tests. */
export const PACTS_DIR = join(WORKSPACE_ROOT, 'contracts', 'pacts');
/** One JSON per verified pact, written by the provider verifications (not committed). */
export const RESULTS_DIR = join(WORKSPACE_ROOT, 'tmp', 'pact-results');

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

interface PactJson {
  readonly metadata?: { readonly pactSpecification?: { readonly version?: string } };
  readonly interactions?: ReadonlyArray<{ readonly description?: string }>;
}

export function readPactFiles(dir = PACTS_DIR): Map<string, PactFileSummary> {
  const pacts = new Map<string, PactFileSummary>();
  if (!existsSync(dir)) return pacts;
  for (const fileName of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const bytes = readFileSync(join(dir, fileName));
    const json = JSON.parse(bytes.toString('utf8')) as PactJson;
    pacts.set(fileName, {
      fileName,
      sha256: sha256(bytes),
      specification: json.metadata?.pactSpecification?.version ?? 'unknown',
      interactions: (json.interactions ?? []).map((i) => i.description ?? ''),
    });
  }
  return pacts;
}

export function readVerificationRecords(dir = RESULTS_DIR): Map<string, VerificationRecord> {
  const records = new Map<string, VerificationRecord>();
  if (!existsSync(dir)) return records;
  for (const fileName of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const record = JSON.parse(readFileSync(join(dir, fileName), 'utf8')) as VerificationRecord;
    records.set(record.pactFile, record);
  }
  return records;
}
