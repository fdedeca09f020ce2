import { formatPath, type ValidationIssue } from '@fieldlink/domain';
import type { z } from 'zod';

/** zod's issues as ours: the path of the field and what was expected there. */
export const toValidationIssues = (error: z.ZodError, prefix: ReadonlyArray<string | number> = []): ValidationIssue[] =>
  error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))]), message: i.message }));
