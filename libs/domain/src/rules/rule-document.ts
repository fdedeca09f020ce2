import type { z } from 'zod';
import { err, ok, type Result } from '../shared/result.js';
import { formatPath, issue, type ValidationIssue } from '../shared/validation-issue.js';
import { ruleDocumentSchema, type Condition, type RuleDefinition, type RuleDocument } from './rule-definition.js';

/** Hopping windows whose size is more than this many hops would make per-device state large. */
export const MAX_HOPS_PER_WINDOW = 1_000;

const fromZod = (error: z.ZodError): ValidationIssue[] =>
  error.issues.map((i) => ({ path: formatPath(i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))), message: i.message }));

/**
 * Reads a native rule document. Never throws, whatever JSON it is given: every problem comes back
 * with its path (`rules.2.window.hopMs`) and what was wrong, the shape first, then what only the
 * whole document shows (duplicate ids, a reference with no value, contradictory policies).
 */
export function parseRuleDocument(document: unknown): Result<RuleDocument, ValidationIssue[]> {
  const parsed = ruleDocumentSchema.safeParse(document);
  if (!parsed.success) return err(fromZod(parsed.error));
  const issues = checkRules(parsed.data);
  return issues.length > 0 ? err(issues) : ok(parsed.data);
}

/** Reads a single rule, for tools that edit one rule at a time. */
export function parseRule(rule: unknown): Result<RuleDefinition, ValidationIssue[]> {
  const result = parseRuleDocument({ version: 1, rules: [rule] });
  if (result.ok) return ok(result.value.rules[0]!);
  return err(result.error.map((i) => ({ ...i, path: i.path.replace(/^rules\.0\.?/, '') || '(root)' })));
}

function checkRules(document: RuleDocument): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  document.rules.forEach((rule, index) => {
    const at = (...path: Array<string | number>) => ['rules', index, ...path];
    if (seen.has(rule.id)) issues.push(issue(at('id'), `rule id "${rule.id}" appears more than once`));
    seen.add(rule.id);
    const clear = rule.clear ?? { when: 'conditionFalse' };
    if (rule.suppression?.singleOpenAlert === true && clear.when === 'never') {
      issues.push(issue(at('suppression', 'singleOpenAlert'), 'an alert that never clears would suppress every later one: give the rule a clear'));
    }
    if (
      rule.suppression?.identicalReadingWithinMs !== undefined &&
      (rule.kind === 'absence' || rule.kind === 'rateOfChange' || (rule.kind === 'window' && rule.window.type === 'sliding'))
    ) {
      issues.push(issue(at('suppression', 'identicalReadingWithinMs'), `does not apply to ${rule.kind === 'window' ? 'sliding window' : rule.kind} rules`));
    }
    if (rule.kind === 'absence' && clear.when !== 'conditionFalse' && clear.when !== 'never') {
      issues.push(issue(at('clear', 'when'), 'an absence alert clears when readings return ("conditionFalse") or never'));
    }
    if (rule.kind === 'window' && rule.window.type === 'hopping') {
      if (rule.window.hopMs > rule.window.sizeMs) issues.push(issue(at('window', 'hopMs'), 'expected a hop no longer than the window size'));
      else if (rule.window.sizeMs / rule.window.hopMs > MAX_HOPS_PER_WINDOW)
        issues.push(issue(at('window', 'hopMs'), `expected at most ${MAX_HOPS_PER_WINDOW} hops per window`));
    }
    if (rule.kind === 'anomaly' && rule.minHistory !== undefined && rule.minHistory > rule.history) {
      issues.push(issue(at('minHistory'), 'expected at most "history" readings'));
    }
    const conditions: Array<[Condition, Array<string | number>]> = [];
    if ('condition' in rule) conditions.push([rule.condition, at('condition')]);
    if (clear.when === 'condition') conditions.push([clear.condition, at('clear', 'condition')]);
    for (const [condition, path] of conditions) {
      if (condition.reference === undefined || condition.value !== undefined) continue;
      const values =
        'deviceType' in rule.scope ? document.referenceData?.deviceTypes?.[rule.scope.deviceType] : document.referenceData?.devices?.[rule.scope.deviceId];
      if (values?.[condition.reference] === undefined) {
        const owner = 'deviceType' in rule.scope ? `device type "${rule.scope.deviceType}"` : `device "${rule.scope.deviceId}"`;
        issues.push(
          issue([...path, 'reference'], `the reference data has no "${condition.reference}" for ${owner}, and the condition has no fallback "value"`),
        );
      }
    }
  });
  return issues;
}
