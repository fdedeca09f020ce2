// Flows 11–12 (automation): the CRM-side rules framework, from a stored root alert to its actions.
import { err, ok, type AlertType, type Result } from '@fieldlink/domain';
import type { CrmDevicesPort, LogPort, StoredIoTAlert } from '@fieldlink/ports';
import type { AlertActions } from '../alerts/alert-actions.js';
import { nameBasedGuid } from '../shared/deterministic-id.js';
import type { AlertWorkDeferred, StoredAlertHandler } from '../alerts/inbound-alerts.js';

/**
 * One action of the rules framework. String values of command parameters may hold placeholders,
 * `{{path}}` or `{{path|fallback}}`, filled from the alert and its device:
 * `alert.reading`, `alert.threshold`, `alert.readingtype`, `alert.ruleoutput`, `alert.deviceid`
 * (the alert data), `alert.description`, `device.name`, `device.settings.<key>`, `device.tags.<key>`.
 */
export type AlertActionConfig =
  | { readonly kind: 'send-command'; readonly commandName: string; readonly parameters: Readonly<Record<string, unknown>> }
  | { readonly kind: 'notify'; readonly message: string }
  | { readonly kind: 'create-case'; readonly title?: string }
  | { readonly kind: 'create-work-order'; readonly summary?: string; readonly incidentType?: string; readonly priority?: string }
  /** Nothing besides the alert record (CFS out of the box), said explicitly for one kind of alert. */
  | { readonly kind: 'none' };

/** Which alerts a rule acts on; every given condition must hold (none given: every alert). */
export interface AlertCondition {
  /** The device's category (its device type in the CRM; the default device type when the CRM does not know the device). */
  readonly deviceType?: string;
  readonly alertType?: AlertType;
  /** The CFS rule output in the alert data, e.g. `AlarmTemp`. */
  readonly ruleOutput?: string;
  readonly readingType?: string;
}

export interface AlertAutomationRule {
  /** Stable name: it keys the idempotency of the rule's commands, so renaming one re-runs it on a redelivered alert. */
  readonly name: string;
  readonly when: AlertCondition;
  readonly actions: readonly AlertActionConfig[];
}

export interface AlertAutomationConfig {
  readonly rules: readonly AlertAutomationRule[];
}

/** CFS out of the box: the alert record only, no automation. A policy is configured (see automation-document.ts in the composition). */
export const NO_ALERT_AUTOMATION: AlertAutomationConfig = { rules: [] };

export interface AlertAutomationDeps {
  readonly crm: CrmDevicesPort;
  readonly actions: AlertActions;
  readonly log: LogPort;
  /** The policy; none (the alert record only) when absent. */
  readonly config?: AlertAutomationConfig;
  /** The category of a device the CRM does not know, for `when.deviceType`. */
  readonly defaultDeviceType?: string;
}

export interface AutomationOutcome {
  readonly rule: string;
  readonly action: AlertActionConfig['kind'];
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Flow 11, the CRM-side rules framework: for each stored root alert, the configured rules that
 * match it run their actions in order. Actions are idempotent (the command id is derived from
 * the alert, rule and action), so running the automation again for a redelivered alert does
 * nothing twice. A refused action (a bad configured command) is logged and does not stop the
 * others; a command the hub could not take yet (throttled, a full device queue) is the
 * `AlertWorkDeferred` error, and a CRM failure rejects: either way the alert's message comes back
 * and finishes the work.
 */
export class AlertAutomation implements StoredAlertHandler {
  private readonly config: AlertAutomationConfig;

  constructor(private readonly deps: AlertAutomationDeps) {
    this.config = deps.config ?? NO_ALERT_AUTOMATION;
  }

  async handleAlert(alert: StoredIoTAlert): Promise<Result<AutomationOutcome[], AlertWorkDeferred>> {
    if (this.config.rules.length === 0) return ok([]);
    const data = parseAlertData(alert.alertData);
    const device = await this.deps.crm.findDeviceByHubId(alert.deviceId);
    const deviceType = device?.deviceType ?? this.deps.defaultDeviceType;
    const rules = this.config.rules.filter((r) => matches(r.when, alert, data, deviceType));
    if (rules.length === 0) return ok([]);
    const context = {
      alert: { ...data, description: alert.description, alertid: alert.alertId },
      device: { name: device?.name, deviceId: alert.deviceId, settings: device?.settings ?? {}, tags: device?.tags ?? {} },
    };
    const outcomes: AutomationOutcome[] = [];
    for (const rule of rules) {
      for (const [index, action] of rule.actions.entries()) {
        const ran = await this.run(alert, rule, index, action, context);
        if (!ran.ok) {
          this.deps.log.warn('automation.action-deferred', {
            correlationId: alert.alertToken,
            alertId: alert.alertId,
            rule: rule.name,
            action: action.kind,
            detail: ran.error.message,
          });
          return ran;
        }
        const outcome = ran.value;
        outcomes.push(outcome);
        this.deps.log[outcome.ok ? 'info' : 'error'](outcome.ok ? 'automation.action-done' : 'automation.action-refused', {
          correlationId: alert.alertToken,
          alertId: alert.alertId,
          rule: rule.name,
          action: action.kind,
          detail: outcome.detail,
        });
      }
    }
    return ok(outcomes);
  }

  private async run(
    alert: StoredIoTAlert,
    rule: AlertAutomationRule,
    index: number,
    action: AlertActionConfig,
    context: TemplateContext,
  ): Promise<Result<AutomationOutcome, AlertWorkDeferred>> {
    const base = { rule: rule.name, action: action.kind };
    const commandId = nameBasedGuid('alert-automation', alert.alertId, rule.name, String(index));
    switch (action.kind) {
      case 'send-command':
      case 'notify': {
        const filled = action.kind === 'notify' ? fill({ Message: action.message }, context) : fill(action.parameters, context);
        if (!filled.ok) return ok({ ...base, ok: false, detail: filled.error });
        const sent =
          action.kind === 'notify'
            ? await this.deps.actions.notify(alert.alertId, String((filled.value as { Message: unknown }).Message), { commandId })
            : await this.deps.actions.sendCommand(alert.alertId, action.commandName, filled.value as Record<string, unknown>, { commandId });
        if (!sent.ok) return ok({ ...base, ok: false, detail: sent.error.message });
        // A throttled hub is a delay, not a refusal: the alert message comes back.
        if (sent.value.dispatch?.kind === 'retry-later')
          return err({ code: 'AlertWorkDeferred', message: `Command ${sent.value.commandId} not sent yet: ${sent.value.dispatch.reason}` });
        return ok({ ...base, ok: true, detail: `command ${sent.value.commandId}${sent.value.dispatch === undefined ? '' : ` ${sent.value.dispatch.kind}`}` });
      }
      case 'create-case': {
        const created = await this.deps.actions.createCase(alert.alertId, action.title === undefined ? {} : { title: action.title });
        return ok(created.ok ? { ...base, ok: true, detail: `case ${created.value.caseId}` } : { ...base, ok: false, detail: created.error.message });
      }
      case 'none':
        return ok({ ...base, ok: true, detail: 'the alert record only' });
      case 'create-work-order': {
        const created = await this.deps.actions.createWorkOrder(alert.alertId, {
          ...(action.summary === undefined ? {} : { summary: action.summary }),
          ...(action.incidentType === undefined ? {} : { incidentType: action.incidentType }),
          ...(action.priority === undefined ? {} : { priority: action.priority }),
        });
        return ok(
          created.ok ? { ...base, ok: true, detail: `work order ${created.value.workOrderId}` } : { ...base, ok: false, detail: created.error.message },
        );
      }
    }
  }
}

type TemplateContext = Readonly<Record<string, unknown>>;

const parseAlertData = (text: string): Record<string, unknown> => {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const matches = (when: AlertCondition, alert: StoredIoTAlert, data: Record<string, unknown>, deviceType: string | undefined): boolean =>
  (when.deviceType === undefined || when.deviceType === deviceType) &&
  (when.alertType === undefined || when.alertType === alert.alertType) &&
  (when.ruleOutput === undefined || when.ruleOutput === data['ruleoutput']) &&
  (when.readingType === undefined || when.readingType === data['readingtype']);

const PLACEHOLDER = /\{\{\s*([^}|]+?)\s*(?:\|([^}]*))?\}\}/g;

const lookup = (context: TemplateContext, path: string): unknown => {
  let v: unknown = context;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
};

/** Fills the placeholders of every string in `value`; CFS parameters are strings, so values become text. */
export function fill(value: unknown, context: TemplateContext): { ok: true; value: unknown } | { ok: false; error: string } {
  if (typeof value === 'string') {
    let missing: string | undefined;
    const text = value.replace(PLACEHOLDER, (_m, path: string, fallback: string | undefined) => {
      const found = lookup(context, path);
      if (found !== undefined && found !== null && typeof found !== 'object') return String(found);
      if (fallback !== undefined) return fallback;
      missing ??= path;
      return '';
    });
    return missing === undefined ? { ok: true, value: text } : { ok: false, error: `placeholder {{${missing}}} has no value and no fallback` };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const f = fill(v, context);
      if (!f.ok) return f;
      out.push(f.value);
    }
    return { ok: true, value: out };
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const f = fill(v, context);
      if (!f.ok) return f;
      out[k] = f.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value };
}
