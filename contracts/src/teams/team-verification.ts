import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VerifierOptions } from '@pact-foundation/pact';

/**
 * Fieldlink's pacts for other teams: the pact files this package ships, and one call that verifies
 * a provider against a pact given by file or URL, either way round:
 * - a team's own provider (a stream processor of its own, a device firmware simulator, a CRM
 *   organisation) against a Fieldlink consumer pact (`fieldlink-orchestrator-…`);
 * - a Fieldlink provider against a team's own consumer pact (`<team>-fieldlink-stream-processor`),
 *   run by Fieldlink's own provider verifications: `FIELDLINK_CONSUMER_PACTS` (see verifyAndRecord).
 */

/** The folder of the pact files this package ships (one per consumer and provider). */
export const FIELDLINK_PACTS_DIR = fileURLToPath(new URL('../../pacts/', import.meta.url));

export interface ShippedPact {
  readonly consumer: string;
  readonly provider: string;
  /** Absolute path of the pact file. */
  readonly path: string;
  /** `message` (asynchronous messages: queue bodies, device messages) or `http` (requests and responses). */
  readonly kind: 'message' | 'http';
  readonly interactions: ReadonlyArray<{ readonly description: string; readonly providerStates: readonly string[] }>;
}

interface PactJson {
  readonly consumer?: { readonly name?: string };
  readonly provider?: { readonly name?: string };
  readonly interactions?: ReadonlyArray<{
    readonly description?: string;
    readonly type?: string;
    readonly providerStates?: ReadonlyArray<{ readonly name?: string }>;
  }>;
}

/** Every pact Fieldlink ships, read from FIELDLINK_PACTS_DIR. */
export function fieldlinkPacts(dir: string = FIELDLINK_PACTS_DIR): ShippedPact[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((fileName) => {
      const path = join(dir, fileName);
      const json = JSON.parse(readFileSync(path, 'utf8')) as PactJson;
      const interactions = json.interactions ?? [];
      return {
        consumer: json.consumer?.name ?? '',
        provider: json.provider?.name ?? '',
        path,
        kind: interactions.every((i) => i.type === 'Asynchronous/Messages') ? 'message' : 'http',
        interactions: interactions.map((i) => ({ description: i.description ?? '', providerStates: (i.providerStates ?? []).map((s) => s.name ?? '') })),
      } satisfies ShippedPact;
    });
}

/** The shipped pact of a Fieldlink consumer and a provider, e.g. `fieldlinkPact('fieldlink-orchestrator', 'fieldlink-stream-processor')`. */
export function fieldlinkPact(consumer: string, provider: string, dir: string = FIELDLINK_PACTS_DIR): ShippedPact {
  const pact = fieldlinkPacts(dir).find((p) => p.consumer === consumer && p.provider === provider);
  if (pact === undefined) {
    const known = fieldlinkPacts(dir)
      .map((p) => `${p.consumer} ← ${p.provider}`)
      .join(', ');
    throw new Error(`Fieldlink ships no pact of consumer ${consumer} and provider ${provider}; it ships ${known}`);
  }
  return pact;
}

export interface PactVerification {
  /** The pact: a file path or an http(s) URL (a Pact Broker's pact URL too). */
  readonly pact: string;
  /** The provider's name, as the pact names it. */
  readonly provider: string;
  /**
   * How to reach the provider, as `@pact-foundation/pact`'s Verifier takes it: `providerBaseUrl`
   * for an HTTP provider, `messageProviders` for a message provider, `stateHandlers` for the
   * provider states; a `requestFilter` to add credentials.
   */
  readonly options: Omit<VerifierOptions, 'provider' | 'pactUrls'>;
}

export interface PactVerificationResult {
  readonly passed: boolean;
  readonly interactions: ReadonlyArray<{ readonly description: string; readonly result: string }>;
  /** The verifier's own account of what failed, or '' when it passed. */
  readonly failure: string;
}

/** Verifies one provider against one pact (file or URL). Never throws for a failed verification: `passed` says. */
export async function verifyPact(verification: PactVerification): Promise<PactVerificationResult> {
  const { Verifier } = await import('@pact-foundation/pact');
  const outcome = await new Verifier({ logLevel: 'error', ...verification.options, provider: verification.provider, pactUrls: [verification.pact] })
    .verifyProvider()
    .catch((e: unknown) => e);
  const failure = outcome instanceof Error ? outcome.message : '';
  const text = outcome instanceof Error ? outcome.message : String(outcome);
  try {
    const summary = JSON.parse(text) as { result: boolean; interactionResults?: Array<{ description: string; result: string }> };
    return {
      passed: summary.result === true && failure === '',
      interactions: (summary.interactionResults ?? []).map((i) => ({ description: i.description, result: i.result })),
      failure,
    };
  } catch {
    return { passed: false, interactions: [], failure: failure || text };
  }
}

/** The provider named by a pact (file or URL): read to pick the pacts a provider verification takes on. */
export async function providerOfPact(pact: string): Promise<string | undefined> {
  const text = /^https?:\/\//i.test(pact) ? await (await fetch(pact)).text() : readFileSync(pact, 'utf8');
  return (JSON.parse(text) as PactJson).provider?.name;
}

/** `FIELDLINK_CONSUMER_PACTS`: pacts (files or URLs, comma-separated) of other teams' consumers that Fieldlink's provider verifications also verify. */
export const CONSUMER_PACTS_ENV = 'FIELDLINK_CONSUMER_PACTS';

export const consumerPactsOf = (env: NodeJS.ProcessEnv = process.env): string[] =>
  (env[CONSUMER_PACTS_ENV] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
