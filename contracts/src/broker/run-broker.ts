// `nx run contracts:publish` and `nx run contracts:can-i-deploy`: see broker-commands.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { canIDeployPlan, publishPlan, type BrokerContext } from './broker-commands.js';

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();
const context: BrokerContext = { env: process.env, gitCommit: () => git('rev-parse', 'HEAD'), gitBranch: () => git('rev-parse', '--abbrev-ref', 'HEAD') };
const which = process.argv[2];
const plan = which === 'publish' ? publishPlan(context) : which === 'can-i-deploy' ? canIDeployPlan(context) : undefined;
if (plan === undefined) {
  console.error('usage: run-broker.ts publish|can-i-deploy');
  process.exit(2);
}
if (plan.kind === 'skip') {
  console.log(plan.reason);
} else {
  const bin = createRequire(import.meta.url).resolve('@pact-foundation/pact-cli/bin/pact-broker.js');
  for (const args of plan.commands) {
    console.log(`pact-broker ${args.join(' ')}`);
    const run = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}
