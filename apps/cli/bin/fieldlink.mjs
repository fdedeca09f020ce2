#!/usr/bin/env node
// The `fieldlink` command: runs the TypeScript sources directly (no build step in the monorepo).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
