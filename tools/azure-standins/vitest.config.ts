import { configDefaults } from 'vitest/config';
import { projectTestConfig } from '../../vitest.shared.ts';

// Over-the-wire tests wait out real lock durations and start real servers: give them time, and
// run files one after another so two cores are not shared by several servers at once. The global
// setup makes the loopback TLS certificate the test processes trust (see its comment).
export default projectTestConfig(import.meta.url, {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  fileParallelism: false,
  globalSetup: ['src/iothub/tls-trust.global-setup.ts'],
  // Provider verifications (*.pact-verify.test.ts) run in the pact-verify target, after the consumer tests wrote the pacts.
  exclude: [...configDefaults.exclude, 'src/**/*.pact-verify.test.ts'],
});
