import { projectTestConfig } from '../../vitest.shared.ts';

// The bounded system run starts a dozen processes: minutes, one file, nothing beside it.
export default projectTestConfig(import.meta.url, {
  testTimeout: 15 * 60_000,
  hookTimeout: 60_000,
  fileParallelism: false,
});
