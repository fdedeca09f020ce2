import { describe, expect, it } from 'vitest';
import type { FlowContract } from '../flow-contracts.js';
import { coverageMatrix, formatMatrix, isGreen, type PactFileSummary, type VerificationRecord } from './coverage-matrix.js';

const flows: FlowContract[] = [
  { flow: '6', what: 'alerts', pacts: [{ consumer: 'fieldlink-orchestrator', provider: 'fieldlink-stream-processor', interactions: ['an alert'] }] },
  { flow: '4b', what: 'anomaly score', pacts: [], noWire: 'in process' },
];
const pact = (over: Partial<PactFileSummary> = {}): Map<string, PactFileSummary> =>
  new Map([
    [
      'fieldlink-orchestrator-fieldlink-stream-processor.json',
      { fileName: 'fieldlink-orchestrator-fieldlink-stream-processor.json', sha256: 'abc', specification: '4.0', interactions: ['an alert'], ...over },
    ],
  ]);
const record = (over: Partial<VerificationRecord> = {}): Map<string, VerificationRecord> =>
  new Map([
    [
      'fieldlink-orchestrator-fieldlink-stream-processor.json',
      {
        consumer: 'fieldlink-orchestrator',
        provider: 'fieldlink-stream-processor',
        pactFile: 'fieldlink-orchestrator-fieldlink-stream-processor.json',
        pactSha256: 'abc',
        providerProject: 'flows',
        verifiedAt: '2026-11-28T00:00:00.000Z',
        passed: true,
        interactions: [{ description: 'an alert', result: 'OK' }],
        ...over,
      },
    ],
  ]);
const statusOfAlerts = (pacts: Map<string, PactFileSummary>, records: Map<string, VerificationRecord>) => coverageMatrix(pacts, records, flows)[0]!.status;

describe('coverage matrix', () => {
  it('is green for a V4 pact whose interactions passed the verification of that very file', () => {
    const lines = coverageMatrix(pact(), record(), flows);
    expect(lines.map((l) => l.status.kind)).toEqual(['verified', 'no-wire']);
    expect(lines.every(isGreen)).toBe(true);
  });

  it('is red when the pact file is missing', () => {
    expect(statusOfAlerts(new Map(), record())).toEqual({ kind: 'no-pact' });
  });

  it('is red when the pact lacks an interaction the flow needs', () => {
    expect(statusOfAlerts(pact({ interactions: ['something else'] }), record())).toEqual({ kind: 'missing-interactions', descriptions: ['an alert'] });
  });

  it('is red for a pact that is not V4', () => {
    expect(statusOfAlerts(pact({ specification: '3.0.0' }), record())).toEqual({ kind: 'not-v4', specification: '3.0.0' });
  });

  it('is red when no verification was recorded', () => {
    expect(statusOfAlerts(pact(), new Map())).toEqual({ kind: 'not-verified' });
  });

  it('is red when the pact changed after it was verified', () => {
    expect(statusOfAlerts(pact({ sha256: 'def' }), record())).toMatchObject({ kind: 'stale-verification' });
  });

  it('is red when the verification failed or skipped an interaction', () => {
    expect(statusOfAlerts(pact(), record({ passed: false, interactions: [{ description: 'an alert', result: 'Error' }] }))).toEqual({
      kind: 'verification-failed',
      descriptions: ['an alert'],
    });
    expect(statusOfAlerts(pact(), record({ interactions: [] }))).toEqual({ kind: 'verification-failed', descriptions: ['an alert'] });
  });

  it('prints one line per flow and pact with its verdict, and a count of green lines', () => {
    const text = formatMatrix(coverageMatrix(pact(), new Map(), flows));
    expect(text).toContain('fieldlink-orchestrator ← fieldlink-stream-processor');
    expect(text).toContain('✘ MISSING: no provider verification recorded');
    expect(text).toContain('✔ no wire: in process');
    expect(text).toContain('1 of 2 contract lines green');
  });
});
