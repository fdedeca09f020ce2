import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * Every Nx project says what it is in a README beside its project.json: a title, some prose, and
 * relative links that lead somewhere. A project added without one (or a README left pointing at
 * a file that moved) fails here, naming the project.
 */
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The folders of the projects git knows (tracked or new, not ignored): one per project.json. */
const projectRoots = (): string[] =>
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*project.json'], { cwd: workspaceRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file.endsWith('/project.json') && existsSync(join(workspaceRoot, file)))
    .map((file) => dirname(file))
    .sort();

/** Relative link targets of a markdown text, without their `#anchor`: `[text](target)`. */
const relativeLinks = (markdown: string): string[] =>
  [...markdown.replaceAll(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));

/** What is wrong with a project's README, if anything. */
function readmeProblems(projectRoot: string, readme: string | undefined, exists: (path: string) => boolean): string[] {
  if (readme === undefined) return [`${projectRoot}: no README.md`];
  const problems: string[] = [];
  const lines = readme.split('\n');
  if (!/^# \S/.test(lines[0] ?? '')) problems.push(`${projectRoot}/README.md: does not start with a "# " title`);
  if (!lines.slice(1).some((line) => /\w{3,}.*\s.*\w{3,}/.test(line)))
    problems.push(`${projectRoot}/README.md: has a title and nothing that says what the project is`);
  for (const target of relativeLinks(readme)) {
    if (!exists(posix.join(projectRoot, target))) problems.push(`${projectRoot}/README.md: links to ${target}, which does not exist`);
  }
  return problems;
}

describe('project READMEs', () => {
  it('every project has a README with a title, prose, and relative links that resolve', () => {
    const roots = projectRoots();
    // The projects are found: the check cannot pass on an empty list.
    expect(roots).toEqual(expect.arrayContaining(['libs/domain', 'libs/composition', 'libs/adapters/in-memory', 'tools/workspace-checks', 'apps/cli']));
    const problems = roots.flatMap((root) => {
      const file = join(workspaceRoot, root, 'README.md');
      return readmeProblems(root, existsSync(file) ? readFileSync(file, 'utf8') : undefined, (path) => existsSync(join(workspaceRoot, path)));
    });
    expect(problems).toEqual([]);
  });

  it('names what is wrong: a missing README, a missing title, a title alone, a link to nothing', () => {
    const none = () => false;
    expect(readmeProblems('libs/x', undefined, none)).toEqual(['libs/x: no README.md']);
    expect(readmeProblems('libs/x', 'Fieldlink x\nSome text about the project.\n', none)).toEqual(['libs/x/README.md: does not start with a "# " title']);
    expect(readmeProblems('libs/x', '# @fieldlink/x\n\n', none)).toEqual(['libs/x/README.md: has a title and nothing that says what the project is']);
    const linked =
      '# @fieldlink/x\n\nSee [the docs](../../docs/gone.md#top), [the site](https://example.com) and [below](#tests).\n\n```md\n[not a link](nowhere.md)\n```\n';
    expect(readmeProblems('libs/x', linked, none)).toEqual(['libs/x/README.md: links to ../../docs/gone.md, which does not exist']);
    expect(readmeProblems('libs/x', linked, (path) => path === 'docs/gone.md')).toEqual([]);
  });
});
