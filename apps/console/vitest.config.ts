import { projectTestConfig } from '../../vitest.shared.ts';

// The end-to-end test drives two pages in chromium over the whole loop: generous margins on a busy machine, not a performance bound.
export default projectTestConfig(import.meta.url, { testTimeout: 120_000, hookTimeout: 60_000, expect: { poll: { timeout: 15_000 } } });
