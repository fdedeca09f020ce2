// `nx run contracts:matrix`: prints flow × consumer pact × provider verification from the pact
// files and the recorded verifications, and exits 1 when a line is not green.
import { coverageMatrix, formatMatrix, isGreen } from './matrix/coverage-matrix.js';
import { readPactFiles, readVerificationRecords } from './matrix/contract-store.js';

const lines = coverageMatrix(readPactFiles(), readVerificationRecords());
console.log(formatMatrix(lines));
process.exitCode = lines.every(isGreen) ? 0 : 1;
