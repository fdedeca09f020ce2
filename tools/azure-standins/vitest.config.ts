import { configDefaults } from 'vitest/config';
import { projectTestConfig } from '../../vitest.shared.ts';

// Over-the-wire tests wait out real lock durations and start real servers: give them time, and
// run files one after another so two cores are not shared by several servers at once.
// Provider verifications (*.pact-verify.test.ts) run in the pact-verify target, after the consumer tests wrote the pacts.
export default projectTestConfig(import.meta.url, { testTimeout: 30_000, hookTimeout: 60_000, fileParallelism: false, exclude: [...configDefaults.exclude, 'src/**/*.pact-verify.test.ts'] });
