import { FLOW_CONTRACTS, pactFileName, type FlowContract, type PactRef } from '../flow-contracts.js';

/** What the matrix needs of one pact file in the pacts folder. */
export interface PactFileSummary {
  readonly fileName: string;
  readonly sha256: string;
  readonly specification: string;
  readonly interactions: readonly string[];
}

/** What a provider verification run records for the pact file it verified. */
export interface VerificationRecord {
  readonly consumer: string;
  readonly provider: string;
  readonly pactFile: string;
  readonly pactSha256: string;
  readonly providerProject: string;
  readonly verifiedAt: string;
  readonly passed: boolean;
  readonly interactions: ReadonlyArray<{ readonly description: string; readonly result: string }>;
}

export type ContractStatus =
  | { readonly kind: 'verified' }
  | { readonly kind: 'no-pact' }
  | { readonly kind: 'not-v4'; readonly specification: string }
  | { readonly kind: 'missing-interactions'; readonly descriptions: readonly string[] }
  | { readonly kind: 'not-verified' }
  | { readonly kind: 'stale-verification'; readonly verifiedAt: string }
  | { readonly kind: 'verification-failed'; readonly descriptions: readonly string[] };

export interface MatrixLine {
  readonly flow: string;
  readonly what: string;
  readonly pact: string;
  readonly verification: string;
  readonly status: ContractStatus | { readonly kind: 'no-wire'; readonly reason: string };
}

export const isGreen = (line: MatrixLine): boolean => line.status.kind === 'verified' || line.status.kind === 'no-wire';

export function statusOf(ref: PactRef, pacts: ReadonlyMap<string, PactFileSummary>, records: ReadonlyMap<string, VerificationRecord>): ContractStatus {
  const fileName = pactFileName(ref.consumer, ref.provider);
  const pact = pacts.get(fileName);
  if (pact === undefined) return { kind: 'no-pact' };
  if (!pact.specification.startsWith('4')) return { kind: 'not-v4', specification: pact.specification };
  const missing = ref.interactions.filter((d) => !pact.interactions.includes(d));
  if (missing.length > 0) return { kind: 'missing-interactions', descriptions: missing };
  const record = records.get(fileName);
  if (record === undefined) return { kind: 'not-verified' };
  if (record.pactSha256 !== pact.sha256) return { kind: 'stale-verification', verifiedAt: record.verifiedAt };
  const failed = ref.interactions.filter((d) => {
    const results = record.interactions.filter((i) => i.description === d);
    return results.length === 0 || results.some((i) => i.result !== 'OK');
  });
  if (!record.passed || failed.length > 0) return { kind: 'verification-failed', descriptions: failed };
  return { kind: 'verified' };
}

/** One line per flow and pact: the flow, the consumer pact, the provider verification, and the verdict. */
export function coverageMatrix(
  pacts: ReadonlyMap<string, PactFileSummary>,
  records: ReadonlyMap<string, VerificationRecord>,
  flows: readonly FlowContract[] = FLOW_CONTRACTS,
): MatrixLine[] {
  return flows.flatMap((row): MatrixLine[] => {
    if (row.noWire !== undefined) return [{ flow: row.flow, what: row.what, pact: '—', verification: '—', status: { kind: 'no-wire', reason: row.noWire } }];
    if (row.pacts.length === 0) return [{ flow: row.flow, what: row.what, pact: '—', verification: '—', status: { kind: 'no-pact' } }];
    return row.pacts.map((ref) => {
      const fileName = pactFileName(ref.consumer, ref.provider);
      const record = records.get(fileName);
      return {
        flow: row.flow,
        what: row.what,
        pact: `${ref.consumer} ← ${ref.provider}`,
        verification: record === undefined ? '—' : `${record.providerProject}:pact-verify`,
        status: statusOf(ref, pacts, records),
      };
    });
  });
}

export function describeStatus(status: MatrixLine['status']): string {
  switch (status.kind) {
    case 'verified':
      return 'verified';
    case 'no-wire':
      return `no wire: ${status.reason}`;
    case 'no-pact':
      return 'MISSING: no pact file';
    case 'not-v4':
      return `WRONG: pact specification ${status.specification}, expected 4.x`;
    case 'missing-interactions':
      return `MISSING interactions: ${status.descriptions.join('; ')}`;
    case 'not-verified':
      return 'MISSING: no provider verification recorded';
    case 'stale-verification':
      return `STALE: the pact changed after its verification of ${status.verifiedAt}`;
    case 'verification-failed':
      return `FAILED verification${status.descriptions.length > 0 ? `: ${status.descriptions.join('; ')}` : ''}`;
  }
}

/** The matrix as a plain-text table for a terminal or a CI log. */
export function formatMatrix(lines: readonly MatrixLine[]): string {
  const rows = [
    ['flow', 'what', 'consumer ← provider pact', 'provider verification', 'status'],
    ...lines.map((l) => [l.flow, l.what, l.pact, l.verification, `${isGreen(l) ? '✔' : '✘'} ${describeStatus(l.status)}`]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  const pad = (r: string[]): string =>
    r
      .map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length))
      .join('  ')
      .trimEnd();
  const green = lines.filter(isGreen).length;
  return [pad(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(pad), '', `${green} of ${lines.length} contract lines green`].join(
    '\n',
  );
}
