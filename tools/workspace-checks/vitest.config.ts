import { projectTestConfig } from '../../vitest.shared.ts';

// The first lint builds the whole project graph, which takes several seconds on a busy machine.
export default projectTestConfig(import.meta.url, { testTimeout: 60_000 });
