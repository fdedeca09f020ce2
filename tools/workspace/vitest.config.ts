import { projectTestConfig } from '../../vitest.shared.ts';

// Each generator test lints, typechecks and tests what it made in a copy of the workspace: minutes
// on a busy machine, not seconds.
export default projectTestConfig(import.meta.url, { testTimeout: 900_000, hookTimeout: 120_000 });
