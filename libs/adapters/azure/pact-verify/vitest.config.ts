// The pact-verify target: only the provider verifications (src/**/*.pact-verify.test.ts), run
// after the consumer tests wrote the pacts; its report sits beside the test target's, so CI counts both.
import { projectTestConfig } from '../../../../vitest.shared.ts';

export default projectTestConfig(
  new URL('../vitest.config.ts', import.meta.url).href,
  { include: ['src/**/*.pact-verify.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
  'pact-verify',
);
