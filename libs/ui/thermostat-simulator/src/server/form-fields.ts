import { err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';

/** What was posted, briefly: enough to say what was wrong, never the whole of a long or deeply nested value (which JSON.stringify cannot even print). */
const shown = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
};

/**
 * Reads the fields the page posts. Numbers may come as JSON numbers or as the text typed in a
 * field; empty, missing or non-numeric values are issues naming the field.
 */
export class FormFields {
  readonly issues: ValidationIssue[] = [];

  constructor(private readonly body: Readonly<Record<string, unknown>>) {}

  text(name: string): string {
    const value = this.body[name];
    if (typeof value !== 'string' || value.trim() === '') {
      this.issues.push({ path: name, message: 'required: enter a value' });
      return '';
    }
    return value.trim();
  }

  number(name: string, range?: { readonly min: number; readonly max: number }): number {
    const parsed = this.optionalNumber(name, range);
    if (parsed === undefined && !this.issues.some((i) => i.path === name)) this.issues.push({ path: name, message: 'required: enter a number' });
    return parsed ?? Number.NaN;
  }

  optionalNumber(name: string, range?: { readonly min: number; readonly max: number }): number | undefined {
    const value = this.body[name];
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(n)) {
      this.issues.push({ path: name, message: `expected a number, got ${shown(value)}` });
      return undefined;
    }
    if (range !== undefined && (n < range.min || n > range.max)) {
      this.issues.push({ path: name, message: `expected a number from ${range.min} to ${range.max}, got ${n}` });
      return undefined;
    }
    return n;
  }

  boolean(name: string): boolean {
    const value = this.body[name];
    if (typeof value !== 'boolean') this.issues.push({ path: name, message: 'expected true or false' });
    return value === true;
  }

  result<T>(value: () => T): Result<T, readonly ValidationIssue[]> {
    return this.issues.length > 0 ? err(this.issues) : ok(value());
  }
}
