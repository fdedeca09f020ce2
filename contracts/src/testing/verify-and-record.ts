import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VerifierOptions } from '@pact-foundation/pact';
import type { VerificationRecord } from '../matrix/coverage-matrix.js';
import { PACTS_DIR, RESULTS_DIR, sha256 } from '../matrix/contract-store.js';
import { consumerPactsOf, providerOfPact, verifyPact } from '../teams/team-verification.js';

export interface ProviderVerification {
  readonly consumer: string;
  readonly provider: string;
  /** The pact's file name in contracts/pacts. */
  readonly pactFile: string;
  /** The Nx project whose pact-verify target runs this verification. */
  readonly providerProject: string;
  /** What the verifier needs besides the provider name and the pact: state handlers, message providers or a base URL. */
  readonly options: Omit<VerifierOptions, 'provider' | 'pactUrls'>;
}

export interface VerificationSummary {
  readonly result: boolean;
  readonly interactionResults: ReadonlyArray<{ readonly description: string; readonly result: string }>;
  /** The verifier's own account of what failed, or '' when it passed. */
  readonly failure: string;
}

/**
 * Verifies one pact against its provider and records the outcome where the contract matrix reads
 * it (tmp/pact-results/<pact file>), tied to the pact file's SHA-256, so a pact changed after its
 * verification shows as stale. Every provider verification of the workspace goes through here.
 * With FIELDLINK_CONSUMER_PACTS set (files or URLs, comma-separated), the pacts there whose
 * provider is this one are verified too, with the same provider states and messages: how a team
 * checks its own consumer against a Fieldlink provider (`npx nx run flows:pact-verify`).
 */
export async function verifyAndRecord(verification: ProviderVerification): Promise<VerificationSummary> {
  const pactPath = join(PACTS_DIR, verification.pactFile);
  const pactBytes = readFileSync(pactPath);
  const own = await verifyPact({ pact: pactPath, provider: verification.provider, options: verification.options });
  const record: VerificationRecord = {
    consumer: verification.consumer,
    provider: verification.provider,
    pactFile: verification.pactFile,
    pactSha256: sha256(pactBytes),
    providerProject: verification.providerProject,
    verifiedAt: new Date().toISOString(),
    passed: own.passed,
    interactions: own.interactions,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, verification.pactFile), JSON.stringify(record));
  // Other teams' consumer pacts of this provider (FIELDLINK_CONSUMER_PACTS), against the same provider states and messages.
  const teams: VerificationSummary[] = [];
  for (const pact of consumerPactsOf()) {
    if ((await providerOfPact(pact)) !== verification.provider) continue;
    const team = await verifyPact({ pact, provider: verification.provider, options: verification.options });
    teams.push({
      result: team.passed,
      interactionResults: team.interactions.map((i) => ({ description: `${pact}: ${i.description}`, result: i.result })),
      failure: team.passed ? '' : `${pact}: ${team.failure}`,
    });
  }
  return {
    result: own.passed && teams.every((t) => t.result),
    interactionResults: [...own.interactions, ...teams.flatMap((t) => t.interactionResults)],
    failure: [own.failure, ...teams.map((t) => t.failure)].filter((f) => f !== '').join('\n'),
  };
}
