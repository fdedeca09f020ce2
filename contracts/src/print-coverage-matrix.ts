// `nx run contracts:matrix`: runs every provider verification of the workspace (each project's
// `pact-verify` target, which first runs the consumer tests that write the pacts), then prints
// flow × consumer pact × provider verification from the pact files and the verifications of this
// run, and exits 1 when a line is not green. Records left by earlier runs are removed first, so a
// line is green only when its verification ran now. `--no-run` prints from the records as they are.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { coverageMatrix, formatMatrix, isGreen } from './matrix/coverage-matrix.js';
import { readPactFiles, readVerificationRecords, RESULTS_DIR, WORKSPACE_ROOT } from './matrix/contract-store.js';

let verificationsFailed = false;
if (!process.argv.includes('--no-run')) {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  console.log('Running every provider verification (nx run-many -t pact-verify)…');
  const run = spawnSync('npx', ['nx', 'run-many', '-t', 'pact-verify', '--outputStyle=static'], {
    cwd: WORKSPACE_ROOT,
    stdio: 'inherit',
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', PACT_DO_NOT_TRACK: 'true' },
  });
  verificationsFailed = run.status !== 0;
}
const lines = coverageMatrix(readPactFiles(), readVerificationRecords());
console.log(formatMatrix(lines));
if (verificationsFailed) console.log('A provider verification failed: see its output above.');
process.exitCode = lines.every(isGreen) && !verificationsFailed ? 0 : 1;
