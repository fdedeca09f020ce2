// Flows 7–10 (alerts): the alerts-queue message into IoT alert records in the CRM, mapped and parented.
import {
  AlertState,
  AlertStatus,
  AlertType,
  DEFAULT_PARENTING_POLICY,
  describeIssues,
  describeThresholdAlert,
  ok,
  parentFor,
  type CodedError,
  type ParentableAlert,
  type ParentingPolicy,
  type Result,
} from '@fieldlink/domain';
import {
  decodeCfsAlertMessage,
  type CrmDevicesPort,
  type CrmAlertsPort,
  type DecodedCfsAlert,
  type LogPort,
  type NewIoTAlert,
  type ReceivedQueueMessage,
  type StoredIoTAlert,
} from '@fieldlink/ports';
import { nameBasedGuid } from '../shared/deterministic-id.js';
import { settleFailures } from '../shared/failure-settlement.js';
import { abandon, complete, deadLetter, type Settlement } from '../shared/settlement.js';

/** Work on a stored alert that cannot be finished now (a throttled hub): the alert's message is abandoned, and comes back to finish it. */
export type AlertWorkDeferred = CodedError<'AlertWorkDeferred'>;

/** What happens to a root alert once it is stored: the CRM-side rules framework (flow 11). */
export interface StoredAlertHandler {
  /** Ok when the work is done (or refused for good, which it logs); `AlertWorkDeferred` when it is to be done again later. */
  handleAlert(alert: StoredIoTAlert): Promise<Result<unknown, AlertWorkDeferred>>;
}

export interface InboundAlertsDeps {
  readonly crm: CrmDevicesPort & CrmAlertsPort;
  readonly log: LogPort;
  /** Debounce: window and matching fields; CFS's 5 minutes on the device by default. */
  readonly parenting?: ParentingPolicy;
  /** Runs for every root alert (children are debounced and start nothing). */
  readonly automation?: StoredAlertHandler;
  /**
   * Who maps the device to its record and customer asset and parents the alert (flow 10):
   * `orchestrator` (the default) does it here; `organisation` leaves it to the CRM, as in a CFS
   * deployment, where the Logic App writes five columns and the CRM's plug-ins do the rest.
   */
  readonly enrichment?: 'orchestrator' | 'organisation';
}

/**
 * The record id of one alert of an alerts-queue message: one event may cross several thresholds
 * (its Temperature and its Humidity, or two rules on one reading), each its own IoT alert with the
 * event token as `msdyn_alerttoken`. The id is made from token, reading type and rule output, so a
 * redelivered message finds each alert it created and makes no second record of any.
 */
export const iotAlertRecordId = (alert: { readonly eventToken: string; readonly readingType: string; readonly ruleOutput: string }): string =>
  nameBasedGuid('msdyn_iotalert', alert.eventToken, alert.readingType, alert.ruleOutput);

/**
 * Flows 7–10, what the CFS "create alerts" Logic App does: parse the alerts-queue message and
 * create one IoT alert per element, with the CFS field mapping; with `enrichment: 'orchestrator'`
 * also the device record and its customer asset, and its parent alert when it repeats an earlier
 * one. Each element is its own record, keyed on event token + reading type + rule output
 * (`iotAlertRecordId`): a redelivered message makes no second record of any, and finishes what a
 * failed delivery left undone (the automation of a root alert). Completes only when every element
 * is stored; a CRM failure abandons (or dead-letters, when the CRM refused the data).
 */
export class InboundAlerts {
  constructor(private readonly deps: InboundAlertsDeps) {}

  async handle(message: ReceivedQueueMessage): Promise<Settlement> {
    const decoded = decodeCfsAlertMessage(message.body);
    if (!decoded.ok) return deadLetter('InvalidAlertMessage', describeIssues(decoded.error));
    return settleFailures(async () => {
      for (const item of decoded.value) {
        const stored = await this.store(item);
        if (!stored.ok) return abandon(`${stored.error.code}: ${stored.error.message}`);
      }
      return complete;
    });
  }

  /** Stores one alert (or finds it stored) and runs the automation of a root alert; returns the stored record, or why the automation is deferred. */
  async store(item: DecodedCfsAlert): Promise<Result<StoredIoTAlert, AlertWorkDeferred>> {
    const { crm, log } = this.deps;
    const correlationId = item.alert.eventToken;
    const alertId = iotAlertRecordId(item.alert);
    let stored = await crm.getIoTAlert(alertId);
    if (stored === undefined) {
      const alert = { ...toIoTAlert(item), alertId };
      const record = this.deps.enrichment === 'organisation' ? alert : await this.enriched(alert);
      const result = await crm.createIoTAlert(record);
      stored = (await crm.getIoTAlert(result.alertId)) ?? { ...record, alertId: result.alertId };
      log.info(result.created ? 'crm.alert-created' : 'crm.alert-exists', {
        correlationId,
        alertId: result.alertId,
        deviceId: alert.deviceId,
        parentAlertId: stored.parentAlertId,
        description: alert.description,
      });
    } else {
      log.info('crm.alert-exists', { correlationId, alertId: stored.alertId, deviceId: stored.deviceId });
    }
    if (stored.parentAlertId === undefined && this.deps.automation !== undefined) {
      const handled = await this.deps.automation.handleAlert(stored);
      if (!handled.ok) return handled;
    }
    return ok(stored);
  }

  /** Flow 10 done here: the device record and its customer asset, and the parent of a repeat. */
  private async enriched(alert: NewIoTAlert & { readonly alertId: string }): Promise<NewIoTAlert> {
    const { crm, log } = this.deps;
    const device = await crm.findDeviceByHubId(alert.deviceId);
    if (device === undefined) log.warn('crm.device-unknown', { correlationId: alert.alertToken, deviceId: alert.deviceId });
    const policy = this.deps.parenting ?? DEFAULT_PARENTING_POLICY;
    const earlier = await crm.findRecentIoTAlerts(alert.deviceId, alert.alertTime - policy.windowMs);
    const candidates: ParentableAlert[] = earlier
      .filter((a) => a.alertId !== alert.alertId)
      .map((a) => ({ id: a.alertId, parentId: a.parentAlertId, deviceId: a.deviceId, alertTime: a.alertTime, fields: fieldsToMatch(a.alertData, policy) }));
    const candidate = parentFor({ deviceId: alert.deviceId, alertTime: alert.alertTime, fields: fieldsToMatch(alert.alertData, policy) }, candidates, policy);
    // A closed parent ends the debounce: the next crossing is a new root, with its own automation.
    const parentAlertId = candidate !== undefined && (await crm.getIoTAlert(candidate))?.state === AlertState.Closed ? undefined : candidate;
    return {
      ...alert,
      ...(device === undefined ? {} : { deviceRecordId: device.deviceRecordId }),
      ...(device?.customerAssetId === undefined ? {} : { customerAssetId: device.customerAssetId }),
      ...(parentAlertId === undefined ? {} : { parentAlertId }),
    };
  }
}

/**
 * flows.md, "Alert into CRM", the five columns the CFS Logic App writes: the element as it came as
 * alert data (`86.0` stays `86.0`), its time, token and device id, and the description; with the
 * type, state and status a new CFS alert has.
 */
export function toIoTAlert({ alert, text }: DecodedCfsAlert): NewIoTAlert {
  return {
    alertToken: alert.eventToken,
    deviceId: alert.deviceId,
    description: describeThresholdAlert(alert.readingType, alert.reading, alert.threshold),
    alertData: text,
    alertTime: alert.time,
    alertType: AlertType.Anomaly,
    state: AlertState.Active,
    status: AlertStatus.Active,
  };
}

/**
 * The alert data's plain fields, which the parenting policy matches on besides the device. A policy
 * that matches on no fields (CFS's default) reads no alert data: each new alert weighs every earlier
 * one of its device in the window, hundreds in an alert storm (a device alerting every second), and
 * parsing each of them was most of a new alert's cost (docs/performance.md, "Tenth round").
 */
function fieldsToMatch(alertData: string, policy: ParentingPolicy): ParentableAlert['fields'] {
  if (policy.fields.length === 0) return undefined;
  const fields: Record<string, string | number | null> = {};
  try {
    const data: unknown = JSON.parse(alertData);
    if (typeof data === 'object' && data !== null) {
      for (const [k, v] of Object.entries(data)) if (typeof v === 'string' || typeof v === 'number' || v === null) fields[k] = v;
    }
  } catch {
    // Alert data that is not JSON matches on the device alone.
  }
  return fields;
}
