import { configDefaults } from 'vitest/config';
import { projectTestConfig } from '../../../vitest.shared.ts';

// The wire tests (*.wire.test.ts) run each adapter over real sockets against the stand-ins of
// tools/azure-standins and Azurite, and wait out real lock durations; the live suite talks to
// real Azure when its connection strings are set: give them time, and run files one after another
// so that two cores are not shared by several servers at once. The global setup makes the loopback
// TLS certificate the test processes trust (azure-iothub's service AMQP client takes no CA).
export default projectTestConfig(import.meta.url, {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  fileParallelism: false,
  globalSetup: ['../../../tools/azure-standins/src/iothub/tls-trust.global-setup.ts'],
  // Provider verifications (*.pact-verify.test.ts) run in the pact-verify target, after the consumer tests wrote the pacts.
  exclude: [...configDefaults.exclude, 'src/**/*.pact-verify.test.ts'],
});
