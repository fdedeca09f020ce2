import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * What a real release would change: the commit, the tags, every published package.json, the
 * lockfile and CHANGELOG.md. Read file by file rather than through `git status`, which would also
 * see files the other test targets write while `npm test` runs them beside this one (the Pact
 * consumer tests rewrite contracts/pacts, for one).
 */
const git = (...args: string[]): string => spawnSync('git', args, { cwd: workspaceRoot, encoding: 'utf8' }).stdout;
/** The folder of each project, by name, from the project.json files git knows. */
const rootOf = new Map(
  git('ls-files', '--', '*project.json')
    .split('\n')
    .filter((file) => file.endsWith('project.json'))
    .map((file) => [(JSON.parse(readFileSync(join(workspaceRoot, file), 'utf8')) as { name: string }).name, dirname(file)] as const),
);
const releasedFiles = (): string[] => [
  'package-lock.json',
  'CHANGELOG.md',
  ...nxJson.release.projects.map((project) => {
    const root = rootOf.get(project);
    expect(root, `the project.json of ${project}`).toBeDefined();
    return join(root!, 'package.json');
  }),
];
function status(): Record<string, string> {
  const files = Object.fromEntries(
    releasedFiles().map((file) => {
      const path = join(workspaceRoot, file);
      return [file, existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent'];
    }),
  );
  return { head: git('rev-parse', 'HEAD'), tags: git('tag', '--list'), ...files };
}

describe('nx release (dry run)', () => {
  it('reads the next version from the conventional commits since the last release and changes nothing', () => {
    const before = status();
    const out = release();
    expect(out).toContain('The "dryRun" flag means no changes were made.');
    expect(status()).toEqual(before);
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
    expect(status()).toEqual(before);
  });
});
