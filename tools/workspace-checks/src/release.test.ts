import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * `nx release` as a maintainer runs it, in dry-run mode: nothing is written, committed, tagged or
 * published. One fixed version for every published package (nx.json, "release").
 */
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const env = { ...process.env, NO_COLOR: '1', NX_DAEMON: 'false', NX_TUI: 'false' };
const nxJson = JSON.parse(readFileSync(join(workspaceRoot, 'nx.json'), 'utf8')) as { release: { projects: string[] } };

function release(...args: string[]): string {
  const run = spawnSync('npx', ['nx', 'release', ...args, '--dry-run', '--skip-publish', '--verbose'], {
    cwd: workspaceRoot,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${run.stdout}${run.stderr}`;
  console.log(
    `$ npx nx release ${args.join(' ')} --dry-run --skip-publish\n${out
      .split('\n')
      .filter((l) => /UPDATE|CREATE|NX  /.test(l))
      .join('\n')}`,
  );
  expect(run.status, out).toBe(0);
  return out;
}

const status = (): string => spawnSync('git', ['status', '--porcelain'], { cwd: workspaceRoot, encoding: 'utf8' }).stdout;

describe('nx release (dry run)', () => {
  it('reads the next version from the conventional commits since the last release and changes nothing', () => {
    const before = status();
    const out = release();
    expect(out).toContain('The "dryRun" flag means no changes were made.');
    expect(status()).toBe(before);
  });

  it('on a given bump versions every published package together, their dependencies on each other, and CHANGELOG.md', () => {
    const before = status();
    const out = release('minor');
    const [, version] = /Previewing an entry in CHANGELOG\.md for v(\S+)/.exec(out) ?? [];
    expect(version, out).toMatch(/^\d+\.\d+\.\d+$/);
    expect(out).toMatch(/(CREATE|UPDATE) CHANGELOG\.md \[dry-run\]/);
    const updated = [...out.matchAll(/UPDATE (\S+)\/package\.json \[dry-run\]/g)].map((m) => m[1]);
    expect(updated.length).toBe(nxJson.release.projects.length);
    expect(out).toContain(`+     "@fieldlink/domain": "${version}"`);
    expect(status()).toBe(before);
  });
});
