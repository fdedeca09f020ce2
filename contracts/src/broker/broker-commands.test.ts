import { describe, expect, it } from 'vitest';
import { FIELDLINK_PACTS_DIR } from '../teams/team-verification.js';
import { canIDeployPlan, publishPlan } from './broker-commands.js';

const context = (env: NodeJS.ProcessEnv) => ({ env, gitCommit: () => 'abc123', gitBranch: () => 'main' });

describe('Pact Broker targets', () => {
  it('skip, saying why, when PACT_BROKER_BASE_URL is not set', () => {
    for (const plan of [publishPlan(context({})), canIDeployPlan(context({ PACT_BROKER_BASE_URL: '' }))]) {
      expect(plan).toMatchObject({ kind: 'skip', reason: expect.stringContaining('skipped: PACT_BROKER_BASE_URL is not set') });
    }
  });

  it('publish every shipped pact as this commit on its branch, or the version and branch given', () => {
    expect(publishPlan(context({ PACT_BROKER_BASE_URL: 'https://broker.example' }))).toEqual({
      kind: 'run',
      commands: [['publish', FIELDLINK_PACTS_DIR, '--consumer-app-version', 'abc123', '--branch', 'main']],
    });
    expect(publishPlan(context({ PACT_BROKER_BASE_URL: 'https://broker.example', PACT_VERSION: '1.2.0', PACT_BRANCH: 'release' }))).toMatchObject({
      commands: [['publish', FIELDLINK_PACTS_DIR, '--consumer-app-version', '1.2.0', '--branch', 'release']],
    });
  });

  it('ask can-i-deploy for each Fieldlink participant, not for the Microsoft services they talk to', () => {
    const plan = canIDeployPlan(context({ PACT_BROKER_BASE_URL: 'https://broker.example', PACT_ENVIRONMENT: 'staging' }));
    if (plan.kind !== 'run') throw new Error('expected commands');
    expect(plan.commands.map((c) => c[2])).toEqual([
      'fieldlink-azure-registry-adapter',
      'fieldlink-console',
      'fieldlink-dynamics-adapter',
      'fieldlink-orchestrator',
      'fieldlink-stream-processor',
      'fieldlink-thermostat-simulator',
    ]);
    expect(plan.commands[0]).toEqual([
      'can-i-deploy',
      '--pacticipant',
      'fieldlink-azure-registry-adapter',
      '--version',
      'abc123',
      '--to-environment',
      'staging',
    ]);
  });
});
