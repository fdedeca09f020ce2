/**
 * One thing wrong with an input: where (a JSON-pointer-like path such as `0.Temperature`, or
 * `(root)` for the whole document) and what was expected there.
 */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

export const formatPath = (path: ReadonlyArray<string | number>): string => (path.length === 0 ? '(root)' : path.join('.'));

export const issue = (path: ReadonlyArray<string | number>, message: string): ValidationIssue => ({ path: formatPath(path), message });

/** `a.b: expected a number; c: required` — one line, for logs and dead-letter reasons. */
export const describeIssues = (issues: readonly ValidationIssue[]): string => issues.map((i) => `${i.path}: ${i.message}`).join('; ');
