import { projectTestConfig } from '../../vitest.shared.ts';

// The first lint builds the whole project graph, which takes several seconds on a busy machine.
// The packaging test builds, packs and installs every published package: minutes, not a performance bound.
export default projectTestConfig(import.meta.url, { testTimeout: 600_000, hookTimeout: 60_000 });
