import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClockPort } from '@fieldlink/ports';
import { afterAll } from 'vitest';

/** A temporary directory for one test file's SQLite files, removed after its tests; the function names the next file. */
export function sqliteTestFiles(name: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), `fieldlink-sqlite-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return () => join(dir, `${name}-${++files}.db`);
}

/** A clock that moves only when told: lock expiry, leases and time to live without waiting. */
export class TestClock implements ClockPort {
  constructor(private at: number) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
}
