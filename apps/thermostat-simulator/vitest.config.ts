import { projectTestConfig } from '../../vitest.shared.ts';

// The page tests start chromium: generous margins on a busy machine, not a performance bound.
export default projectTestConfig(import.meta.url, { testTimeout: 60_000, hookTimeout: 60_000, expect: { poll: { timeout: 15_000 } } });
