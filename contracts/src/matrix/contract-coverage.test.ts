// Runs after every pact-verify target (contracts:test depends on them): one test per line of the
// coverage matrix, so a flow without a pact or without a passing verification fails CI by name.
import { afterAll, describe, expect, it } from 'vitest';
import { coverageMatrix, describeStatus, formatMatrix } from './coverage-matrix.js';
import { readPactFiles, readVerificationRecords } from './contract-store.js';

const lines = coverageMatrix(readPactFiles(), readVerificationRecords());

describe('every flow of the data-flow diagram has a consumer pact and a passing provider verification', () => {
  afterAll(() => console.log(formatMatrix(lines)));
  for (const line of lines) {
    it(`flow ${line.flow} (${line.what}): ${line.pact}`, () => {
      expect(describeStatus(line.status)).toMatch(/^(verified|no wire: )/);
    });
  }
});
