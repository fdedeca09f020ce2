import { FIELDLINK_PACTS_DIR, fieldlinkPacts } from '../teams/team-verification.js';

/**
 * The Pact Broker commands of `nx run contracts:publish` and `nx run contracts:can-i-deploy`,
 * run with `pact-broker` of @pact-foundation/pact-cli. The broker and its credentials come from
 * the environment the CLI reads itself: PACT_BROKER_BASE_URL, and PACT_BROKER_TOKEN or
 * PACT_BROKER_USERNAME with PACT_BROKER_PASSWORD. Without PACT_BROKER_BASE_URL nothing runs.
 */
export type BrokerPlan = { readonly kind: 'skip'; readonly reason: string } | { readonly kind: 'run'; readonly commands: ReadonlyArray<readonly string[]> };

export interface BrokerContext {
  readonly env: NodeJS.ProcessEnv;
  /** The commit being published or deployed (PACT_VERSION, else the git commit). */
  readonly gitCommit: () => string;
  /** The branch (PACT_BRANCH, else the git branch). */
  readonly gitBranch: () => string;
}

const skipped = (what: string): BrokerPlan => ({
  kind: 'skip',
  reason: `${what} skipped: PACT_BROKER_BASE_URL is not set (set it, and PACT_BROKER_TOKEN or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD, to use a Pact Broker)`,
});

/** `publish`: every pact Fieldlink ships, as the consumer version of this commit on its branch. */
export function publishPlan(context: BrokerContext, pactsDir: string = FIELDLINK_PACTS_DIR): BrokerPlan {
  if (!context.env['PACT_BROKER_BASE_URL']) return skipped('publishing the pacts');
  const version = context.env['PACT_VERSION'] || context.gitCommit();
  const branch = context.env['PACT_BRANCH'] || context.gitBranch();
  return { kind: 'run', commands: [['publish', pactsDir, '--consumer-app-version', version, '--branch', branch]] };
}

/** `can-i-deploy`: each Fieldlink participant at this version, to PACT_ENVIRONMENT (production by default). */
export function canIDeployPlan(context: BrokerContext, pactsDir: string = FIELDLINK_PACTS_DIR): BrokerPlan {
  if (!context.env['PACT_BROKER_BASE_URL']) return skipped('can-i-deploy');
  const version = context.env['PACT_VERSION'] || context.gitCommit();
  const environment = context.env['PACT_ENVIRONMENT'] || 'production';
  const ours = [...new Set(fieldlinkPacts(pactsDir).flatMap((p) => [p.consumer, p.provider]))].filter((name) => name.startsWith('fieldlink-')).sort();
  return {
    kind: 'run',
    commands: ours.map((pacticipant) => ['can-i-deploy', '--pacticipant', pacticipant, '--version', version, '--to-environment', environment]),
  };
}
