import { err, ok, type Result } from '../shared/result.js';
import type { ValidationIssue } from '../shared/validation-issue.js';
import { CompiledRuleSet } from './engine/compiled-rule.js';
import type { EventTimePolicy } from './event-time-policy.js';
import { parseRuleDocument } from './rule-document.js';

/** Reads and compiles a native rule document in one step. */
export function loadRuleSet(document: unknown, eventTime: Partial<EventTimePolicy> = {}): Result<CompiledRuleSet, ValidationIssue[]> {
  const parsed = parseRuleDocument(document);
  return parsed.ok ? ok(new CompiledRuleSet(parsed.value, eventTime)) : err(parsed.error);
}
