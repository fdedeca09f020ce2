import { projectTestConfig } from '../../../vitest.shared.ts';

// The live suite talks to real Azure when its connection strings are set: give it time.
export default projectTestConfig(import.meta.url, { testTimeout: 60_000, hookTimeout: 60_000 });
