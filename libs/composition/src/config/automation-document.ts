import { AlertType, err, ok, validateCommand, type Result, type ValidationIssue } from '@fieldlink/domain';
import { fill, NO_ALERT_AUTOMATION, NOTIFICATION_COMMAND, type AlertActionConfig, type AlertAutomationConfig, type DeviceTypeCatalog } from '@fieldlink/flows';
import { z } from 'zod';
import { readDocumentFile, zodIssues } from './document-file.js';

/**
 * The automation document: the rules framework (flow 11) as configuration. Each rule says which
 * alerts it acts on (device category, CFS rule output, alert type, reading type) and what is done:
 * a case, a work order (incident type, priority), a command of the category's catalogue with its
 * parameters, a notification, or nothing. No document is CFS out of the box: the alert record
 * only.
 *
 * ```yaml
 * rules:
 *   - name: cool-down-on-AlarmTemp
 *     when: { deviceType: Thermostat, ruleOutput: AlarmTemp }
 *     actions:
 *       - command: Set Values
 *         parameters: { Reading: { Temperature: "{{device.settings.TargetTemperature|65}}" } }
 *       - workOrder: { incidentType: Thermostat repair, priority: High }
 * ```
 *
 * A command is checked against the category's catalogue when the document is read (placeholders
 * with a fallback are checked with it), so a document naming a command the category has not, or a
 * parameter out of its range, is refused at start.
 */

const name = z.string({ error: 'expected a name' }).trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters');
const text = z.string({ error: 'expected text' }).min(1, 'expected non-empty text').max(4_000, 'expected at most 4,000 characters');
const ALERT_TYPES = Object.keys(AlertType) as [keyof typeof AlertType, ...(keyof typeof AlertType)[]];

const actionSchema = z.union(
  [
    z.strictObject({ command: name, parameters: z.record(z.string(), z.unknown()).default({}) }),
    z.strictObject({ notify: text }),
    z.strictObject({ case: z.strictObject({ title: text.optional() }).default({}) }),
    z.strictObject({ workOrder: z.strictObject({ incidentType: name.optional(), priority: name.optional(), summary: text.optional() }).default({}) }),
    z.literal('none'),
  ],
  { error: 'expected one of {command, parameters}, {notify}, {case}, {workOrder}, or "none"' },
);

const ruleSchema = z.strictObject({
  name,
  when: z
    .strictObject({
      deviceType: name.optional(),
      ruleOutput: name.optional(),
      readingType: name.optional(),
      alertType: z.enum(ALERT_TYPES, { error: `expected one of ${ALERT_TYPES.join(', ')}` }).optional(),
    })
    .default({}),
  actions: z.array(actionSchema).max(20, 'expected at most 20 actions'),
});

export const automationDocumentSchema = z.strictObject({ rules: z.array(ruleSchema).max(1_000, 'expected at most 1,000 rules') }).superRefine((d, ctx) => {
  const seen = new Set<string>();
  d.rules.forEach((r, i) => {
    if (seen.has(r.name))
      ctx.addIssue({
        code: 'custom',
        path: ['rules', i, 'name'],
        message: `"${r.name}" names another rule too; a rule's name keys its commands, so each is unique`,
      });
    seen.add(r.name);
  });
});

const toAction = (a: z.output<typeof ruleSchema>['actions'][number]): AlertActionConfig => {
  if (a === 'none') return { kind: 'none' };
  if ('command' in a) return { kind: 'send-command', commandName: a.command, parameters: a.parameters };
  if ('notify' in a) return { kind: 'notify', message: a.notify };
  if ('case' in a) return { kind: 'create-case', ...(a.case.title === undefined ? {} : { title: a.case.title }) };
  return { kind: 'create-work-order', ...definedOnly(a.workOrder) };
};

/** The object without its undefined fields, typed so (an optional field may be absent, not undefined). */
const definedOnly = <T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };

/**
 * Validates a parsed automation document against the device types: each command (and each
 * notification) must be one of the rule's category's commands, with parameters it accepts. A rule
 * with a command and no `when.deviceType` is checked against the default device type.
 */
export function parseAutomationDocument(
  document: unknown,
  catalog: DeviceTypeCatalog,
  defaultDeviceType: string,
): Result<AlertAutomationConfig, ValidationIssue[]> {
  const parsed = automationDocumentSchema.safeParse(document);
  if (!parsed.success) return err(zodIssues(parsed.error));
  const issues: ValidationIssue[] = [];
  const rules = parsed.data.rules.map((r, i) => {
    const alertType = r.when.alertType === undefined ? undefined : AlertType[r.when.alertType];
    const when = {
      ...definedOnly({ deviceType: r.when.deviceType, ruleOutput: r.when.ruleOutput, readingType: r.when.readingType }),
      ...(alertType === undefined ? {} : { alertType }),
    };
    const actions = r.actions.map(toAction);
    const typeName = r.when.deviceType ?? defaultDeviceType;
    const type = catalog.get(typeName);
    if (r.when.deviceType !== undefined && type === undefined)
      issues.push({
        path: `rules.${i}.when.deviceType`,
        message: `"${typeName}" is not a known device type; known: ${catalog
          .list()
          .map((t) => t.name)
          .join(', ')}`,
      });
    actions.forEach((a, j) => {
      if (type === undefined || (a.kind !== 'send-command' && a.kind !== 'notify')) return;
      const command =
        a.kind === 'notify'
          ? { CommandName: NOTIFICATION_COMMAND, Parameters: { Message: a.message } }
          : { CommandName: a.commandName, Parameters: a.parameters };
      // Placeholders are checked with their fallback; one without a fallback is filled only when the alert comes.
      const sample = fill(command, {});
      const checked = validateCommand(type, sample.ok ? sample.value : { CommandName: command.CommandName, Parameters: {} });
      if (checked.ok) return;
      const relevant = sample.ok ? checked.error : checked.error.filter((e) => e.path === 'CommandName');
      for (const e of relevant) issues.push({ path: `rules.${i}.actions.${j}`, message: `not a valid ${type.name} command: ${e.path}: ${e.message}` });
    });
    return { name: r.name, when, actions };
  });
  return issues.length > 0 ? err(issues) : ok({ rules });
}

export interface AutomationPolicy {
  readonly config: AlertAutomationConfig;
  /** The document's path, or `none` (the alert record only). */
  readonly source: string;
}

/** The automation policy of the configuration: the document at `file`, or none. */
export function automationPolicyOf(
  file: string | undefined,
  catalog: DeviceTypeCatalog,
  defaultDeviceType: string,
): Result<AutomationPolicy, ValidationIssue[]> {
  if (file === undefined) return ok({ config: NO_ALERT_AUTOMATION, source: 'none' });
  const read = readDocumentFile(file);
  if (!read.ok) return read;
  const parsed = parseAutomationDocument(read.value, catalog, defaultDeviceType);
  return parsed.ok ? ok({ config: parsed.value, source: file }) : parsed;
}

/** One line per rule, for the start-up log: `cool-down-on-AlarmTemp: Thermostat AlarmTemp → command "Set Values" {...}`. */
export function describeAutomationPolicy(policy: AutomationPolicy): string[] {
  if (policy.config.rules.length === 0) return ['none: IoT alerts are recorded, nothing else runs (CFS out of the box)'];
  return policy.config.rules.map((r) => {
    const when =
      Object.entries(r.when)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ') || 'every alert';
    const actions = r.actions.map((a) => {
      switch (a.kind) {
        case 'send-command':
          return `command "${a.commandName}" ${JSON.stringify(a.parameters)}`;
        case 'notify':
          return `notify ${JSON.stringify(a.message)}`;
        case 'create-case':
          return 'case';
        case 'create-work-order': {
          const details = [a.incidentType, a.priority].filter((d) => d !== undefined);
          return `work order${details.length === 0 ? '' : ` (${details.join(', ')})`}`;
        }
        case 'none':
          return 'nothing';
      }
    });
    return `${r.name}: ${when} → ${actions.join(', ') || 'nothing'}`;
  });
}
