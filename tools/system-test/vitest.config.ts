import { projectTestConfig } from '../../vitest.shared.ts';

// The bounded system run starts a dozen processes: minutes, one file, nothing beside it. The
// global setup makes the loopback TLS certificate the in-process stand-in tests trust
// (azure-iothub's service AMQP client takes no CA).
export default projectTestConfig(import.meta.url, {
  testTimeout: 15 * 60_000,
  hookTimeout: 60_000,
  fileParallelism: false,
  globalSetup: ['../azure-standins/src/iothub/tls-trust.global-setup.ts'],
});
