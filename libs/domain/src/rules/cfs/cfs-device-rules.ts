import { err, ok, type Result } from '../../shared/result.js';
import { issue, type ValidationIssue } from '../../shared/validation-issue.js';

/**
 * One threshold of the CFS reference data: readings of `readingType` from devices of
 * `deviceType` above `threshold` raise an alert whose rule output is `ruleOutput`.
 */
export interface CfsThresholdRule {
  readonly deviceType: string;
  readonly readingType: string;
  readonly threshold: number;
  readonly ruleOutput: string;
}

const RULE_OUTPUT_SUFFIX = 'RuleOutput';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the CFS `devicerules.json` as it is: an array with one entry per device type, where each
 * reading type `X` has a threshold `X` (number or null) and an output `XRuleOutput`. A null
 * threshold means no rule for that reading. Any reading type works, not only the thermostat's.
 */
export function parseCfsDeviceRules(document: unknown): Result<CfsThresholdRule[], ValidationIssue[]> {
  if (!Array.isArray(document)) return err([issue([], 'expected an array of device rules, one entry per device type')]);
  const issues: ValidationIssue[] = [];
  const rules: CfsThresholdRule[] = [];
  const seenTypes = new Set<string>();
  document.forEach((entry: unknown, index) => {
    if (!isRecord(entry)) {
      issues.push(issue([index], 'expected an object'));
      return;
    }
    const deviceType = entry['DeviceType'];
    if (typeof deviceType !== 'string' || deviceType.trim() === '') {
      issues.push(issue([index, 'DeviceType'], 'expected a non-empty string'));
      return;
    }
    if (seenTypes.has(deviceType)) issues.push(issue([index, 'DeviceType'], `device type "${deviceType}" appears more than once`));
    seenTypes.add(deviceType);
    for (const [key, value] of Object.entries(entry)) {
      if (key === 'DeviceType') continue;
      if (key.endsWith(RULE_OUTPUT_SUFFIX)) {
        const readingType = key.slice(0, -RULE_OUTPUT_SUFFIX.length);
        if (value !== null && typeof value !== 'string') issues.push(issue([index, key], 'expected a string or null'));
        if (readingType === '' || !(readingType in entry)) issues.push(issue([index, key], `has no threshold field "${readingType}" beside it`));
        continue;
      }
      if (value === null) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push(issue([index, key], 'expected a finite number or null'));
        continue;
      }
      const output = entry[key + RULE_OUTPUT_SUFFIX];
      if (typeof output !== 'string' || output.trim() === '') {
        issues.push(issue([index, key + RULE_OUTPUT_SUFFIX], `expected the rule output for the ${key} threshold`));
        continue;
      }
      rules.push({ deviceType, readingType: key, threshold: value, ruleOutput: output });
    }
  });
  return issues.length > 0 ? err(issues) : ok(rules);
}
