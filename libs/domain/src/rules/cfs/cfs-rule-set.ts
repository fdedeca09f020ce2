import { err, ok, type Result } from '../../shared/result.js';
import type { ValidationIssue } from '../../shared/validation-issue.js';
import { CompiledRuleSet } from '../engine/compiled-rule.js';
import type { RuleAlert } from '../engine/rule-outcome.js';
import type { EventTimePolicy } from '../event-time-policy.js';
import type { RuleDefinition, RuleDocument } from '../rule-definition.js';
import { CFS_SUPPRESSION_MS } from './cfs-alert-query.js';
import { parseCfsDeviceRules, type CfsThresholdRule } from './cfs-device-rules.js';
import type { ThresholdAlert } from './threshold-alert.js';

/** The id the engine gives the CFS threshold of one reading type of one device type. */
export const cfsRuleId = (rule: Pick<CfsThresholdRule, 'deviceType' | 'readingType'>): string => `cfs:${rule.deviceType}:${rule.readingType}`;

/**
 * The CFS mode of the engine: each threshold of `devicerules.json` as a native threshold rule that
 * behaves like the CFS Stream Analytics query: every reading above the threshold raises (`>`), no
 * clear, and the LAG suppression of an identical (device, reading type, reading) within one minute.
 */
export function cfsRuleDocument(rules: readonly CfsThresholdRule[]): RuleDocument {
  return {
    version: 1,
    rules: rules.map((rule): RuleDefinition => ({
      id: cfsRuleId(rule),
      kind: 'threshold',
      scope: { deviceType: rule.deviceType },
      reading: rule.readingType,
      condition: { operator: '>', value: rule.threshold },
      severity: 'warning',
      output: rule.ruleOutput,
      clear: { when: 'never' },
      suppression: { identicalReadingWithinMs: CFS_SUPPRESSION_MS },
    })),
  };
}

/** Reads the CFS `devicerules.json` as it is and compiles it for the engine. */
export function compileCfsDeviceRules(document: unknown, eventTime: Partial<EventTimePolicy> = {}): Result<CompiledRuleSet, ValidationIssue[]> {
  const rules = parseCfsDeviceRules(document);
  if (!rules.ok) return err(rules.error);
  return ok(new CompiledRuleSet(cfsRuleDocument(rules.value), eventTime));
}

/** An engine alert in the shape of one CFS alerts-queue element. */
export const toThresholdAlert = (alert: RuleAlert): ThresholdAlert => ({
  deviceId: alert.deviceId,
  readingType: alert.readingType,
  reading: alert.reading,
  eventToken: alert.eventToken,
  threshold: alert.threshold ?? Number.NaN,
  ruleOutput: alert.ruleOutput,
  time: alert.time,
});
