// Sums the vitest JSON reports in tmp/test-results into one line `N passed, N failed`.
// A project with a test target but no report counts as a failure, so a run that silently
// skipped a project cannot pass; so does a run with no test at all.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = join(process.cwd(), 'tmp', 'test-results');
const reports = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const file of reports) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that failed to load has no tests in it but fails the run.
  failed += (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
  // Each failure by name, with the first lines of its message, so that the end of a long log says what broke.
  for (const result of report.testResults ?? []) {
    const file = relative(process.cwd(), result.name ?? '');
    const failedTests = (result.assertionResults ?? []).filter((a) => a.status === 'failed');
    if (failedTests.length === 0 && result.status === 'failed') failures.push({ name: `${file} (did not load)`, message: result.message ?? '' });
    for (const test of failedTests) failures.push({ name: `${file} > ${test.fullName}`, message: (test.failureMessages ?? []).join('\n') });
  }
}
for (const { name, message } of failures) {
  console.log(`FAILED ${name}`);
  for (const line of message
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, 12))
    console.log(`    ${line.slice(0, 300)}`);
}
// Every project's `test` target writes <project>.json; the system run (`system` target) writes
// <project>.system.json beside it.
const withTarget = (target) => JSON.parse(execFileSync('npx', ['nx', 'show', 'projects', '--with-target', target, '--json'], { encoding: 'utf8' }));
const expected = [...withTarget('test').map((p) => `${p}.json`), ...withTarget('system').map((p) => `${p}.system.json`)];
const missing = expected.filter((r) => !reports.includes(r));
for (const r of missing) console.log(`no test report ${r}: counted as one failure`);
failed += missing.length;
if (passed + failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
