import { projectTestConfig } from '../../vitest.shared.ts';

// The CLI tests start the real command (tsx compiles it on each start), which takes seconds on a busy machine.
export default projectTestConfig(import.meta.url, { testTimeout: 90_000 });
