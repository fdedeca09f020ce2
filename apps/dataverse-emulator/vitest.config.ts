import { configDefaults } from 'vitest/config';
import { projectTestConfig } from '../../vitest.shared.ts';

// Provider verifications (*.pact-verify.test.ts) run in the pact-verify target, after the consumer tests wrote the pacts.
export default projectTestConfig(import.meta.url, { exclude: [...configDefaults.exclude, 'src/**/*.pact-verify.test.ts'] });
