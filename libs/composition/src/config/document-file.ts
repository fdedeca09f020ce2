import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

/** Reads a JSON or YAML document (YAML by extension: .yaml, .yml); a file that cannot be read or parsed is one issue at `(file)`. */
export function readDocumentFile(file: string): Result<unknown, ValidationIssue[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return err([{ path: '(file)', message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const yaml = ['.yaml', '.yml'].includes(extname(file).toLowerCase());
  try {
    return ok(yaml ? parseYaml(text) : JSON.parse(text));
  } catch (e) {
    return err([{ path: '(file)', message: `is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}` }]);
  }
}

/** zod's issues as the domain's: the dotted path inside the document, and what was wrong. */
export const zodIssues = (error: z.ZodError): ValidationIssue[] =>
  error.issues.map((i) => ({ path: i.path.length === 0 ? '(root)' : i.path.map(String).join('.'), message: i.message }));
