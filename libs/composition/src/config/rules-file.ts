import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import {
  err,
  loadRuleSet,
  ok,
  parseCfsDeviceRules,
  THERMOSTAT_DEFAULT_RULES,
  type CfsThresholdRule,
  type CompiledRuleSet,
  type Result,
  type ValidationIssue,
} from '@fieldlink/domain';
import { parse as parseYaml } from 'yaml';

/** A rules file as read: the CFS reference data (`devicerules.json`, an array) or a native rule document (an object). */
export type RulesFile = { readonly kind: 'cfs'; readonly rules: readonly CfsThresholdRule[] } | { readonly kind: 'native'; readonly ruleSet: CompiledRuleSet };

/** Which format a parsed document is: CFS `devicerules.json` is an array, a native rule document an object. */
export const rulesFormatOf = (document: unknown): 'cfs' | 'native' => (Array.isArray(document) ? 'cfs' : 'native');

/**
 * The deepest nesting of flow collections (`[`, `{`) a YAML rules file may have. A rules document
 * nests a few levels; the YAML parser recurses per level and, some ten thousand levels deep, brings
 * the whole process down (out of memory) instead of failing.
 */
export const MAX_YAML_NESTING = 256;

/** The deepest run of unclosed brackets in the text, quotes ignored (it can only overcount, never miss). */
function bracketDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return deepest;
}

/** Reads and validates a rules file (JSON, or YAML by extension); issues carry the path inside the document. */
export function readRulesFile(file: string): Result<RulesFile, ValidationIssue[]> {
  let text: string;
  try {
    // A UTF-8 byte order mark (Windows editors write one) is not part of the document.
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    return err([{ path: '(file)', message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  let document: unknown;
  const yaml = ['.yaml', '.yml'].includes(extname(file).toLowerCase());
  if (yaml && bracketDepth(text) > MAX_YAML_NESTING)
    return err([{ path: '(file)', message: `is not valid YAML here: it nests brackets deeper than ${MAX_YAML_NESTING} levels` }]);
  try {
    document = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    return err([{ path: '(file)', message: `is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}` }]);
  }
  if (rulesFormatOf(document) === 'cfs') {
    const rules = parseCfsDeviceRules(document);
    return rules.ok ? ok({ kind: 'cfs', rules: rules.value }) : rules;
  }
  const ruleSet = loadRuleSet(document);
  return ruleSet.ok ? ok({ kind: 'native', ruleSet: ruleSet.value }) : ruleSet;
}

/** The device rules the stream processor starts with: the file's, or the CFS thermostat rule (Temperature > 70). */
export function deviceRulesOf(file: string | undefined): Result<readonly CfsThresholdRule[], ValidationIssue[]> {
  if (file === undefined) return ok(THERMOSTAT_DEFAULT_RULES);
  const read = readRulesFile(file);
  if (!read.ok) return read;
  if (read.value.kind === 'native')
    return err([
      {
        path: '(root)',
        message: 'is a native rule document; the stream processor reads CFS devicerules.json reference data (use `fieldlink rules test` for native documents)',
      },
    ]);
  return ok(read.value.rules);
}
