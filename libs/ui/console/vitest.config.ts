import { projectTestConfig } from '../../../vitest.shared.ts';

// The browser tests start chromium and drive whole pages: minutes of margin on a busy machine, not a performance bound.
export default projectTestConfig(import.meta.url, { testTimeout: 60_000, hookTimeout: 60_000, expect: { poll: { timeout: 15_000 } } });
