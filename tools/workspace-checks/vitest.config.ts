import { projectTestConfig } from '../../vitest.shared.ts';

// The first lint builds the whole project graph, which takes several seconds on a busy machine.
// The packaging checks build, pack and install every package (minutes, not a performance bound),
// one file at a time: two npm installs at once only slow each other down.
export default projectTestConfig(import.meta.url, { testTimeout: 600_000, hookTimeout: 300_000, fileParallelism: false });
