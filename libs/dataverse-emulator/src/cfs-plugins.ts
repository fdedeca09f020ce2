import { DEFAULT_PARENTING_POLICY, parentFor, type ParentingPolicy } from '@fieldlink/domain';
import type { TableSchema } from './cfs-schema.js';
import { wholeSeconds, type ColumnValues, type RecordStore, type WireRecord } from './record-store.js';

/**
 * What the CFS solution does inside the organisation when an alert is created (flow 10 of the
 * CFS data-flow diagram, a pre-create plug-in step on `msdyn_iotalert`): the Logic App writes
 * only `msdyn_alertdata`, `msdyn_alerttime`, `msdyn_alerttoken`, `msdyn_description` and
 * `msdyn_deviceid`; the CRM maps the device id to the IoT device record and to the customer
 * asset that carries that device id, and parents the alert under an earlier one of the same
 * device (the "IoT - Debounce IoT Alerts" action, msdyn_ParentIoTAlerts:
 * https://learn.microsoft.com/en-us/previous-versions/dynamicscrm-2016/developers-guide/mt790242(v=crm.8)).
 * A value the client set itself is left alone.
 */
export class CfsPlugins {
  constructor(private readonly store: RecordStore) {}

  preCreate(table: TableSchema, values: ColumnValues): void {
    if (table.logicalName === 'msdyn_iotalert') this.enrichAlert(values);
  }

  private enrichAlert(values: ColumnValues): void {
    const deviceId = values['msdyn_deviceid'];
    if (typeof deviceId !== 'string' || deviceId === '') return;
    if (values['msdyn_device'] === undefined) {
      const device = this.exactlyByDeviceId('msdyn_iotdevices', deviceId);
      if (device !== undefined) values['msdyn_device'] = String(device['msdyn_iotdeviceid']);
    }
    if (values['msdyn_customerasset'] === undefined) {
      // The asset's msdyn_deviceid names its connected device (the stock schema has no other link).
      const asset = this.exactlyByDeviceId('msdyn_customerassets', deviceId);
      if (asset !== undefined) values['msdyn_customerasset'] = String(asset['msdyn_customerassetid']);
    }
    const alertTime = typeof values['msdyn_alerttime'] === 'number' ? values['msdyn_alerttime'] : undefined;
    if (values['msdyn_parentalert'] === undefined && alertTime !== undefined) {
      const policy = this.aggregationPolicy();
      if (policy.windowMs <= 0) return;
      const alerts = this.store.table('msdyn_iotalerts')!;
      const since = new Date(wholeSeconds(alertTime - policy.windowMs)).toISOString();
      const earlier = this.store
        .query(alerts, {
          filter: {
            kind: 'and',
            left: { kind: 'compare', op: 'eq', property: 'msdyn_deviceid', literal: { kind: 'string', value: deviceId } },
            right: { kind: 'compare', op: 'ge', property: 'msdyn_alerttime', literal: { kind: 'datetime', value: Date.parse(since) } },
          },
        })
        .filter((a) => a['msdyn_deviceid'] === deviceId);
      const parent = parentFor(
        { deviceId, alertTime, fields: fieldsOf(values['msdyn_alertdata'], policy) },
        earlier.map((a) => ({
          id: String(a['msdyn_iotalertid']),
          deviceId,
          alertTime: Date.parse(String(a['msdyn_alerttime'])),
          parentId: (a['_msdyn_parentalert_value'] as string | null) ?? undefined,
          fields: fieldsOf(a['msdyn_alertdata'], policy),
        })),
        policy,
      );
      if (parent !== undefined) values['msdyn_parentalert'] = parent;
    }
  }

  /**
   * The organisation's `msdyn_iotsettings.msdyn_iotalertaggregationrule`. Microsoft does not
   * publish its format; the emulator reads it as the debounce of msdyn_ParentIoTAlerts: a number
   * of seconds, or JSON `{"TimespanSeconds": n, "fields": ["readingtype"]}` (fields of the alert
   * data that must also match). 0 turns parenting off. Without a rule: Fieldlink's default window.
   */
  private aggregationPolicy(): ParentingPolicy {
    const settings = this.store.table('msdyn_iotsettingses');
    const [row] = settings === undefined ? [] : this.store.query(settings, { top: 1 });
    const rule = row?.['msdyn_iotalertaggregationrule'];
    if (typeof rule !== 'string' || rule.trim() === '') return DEFAULT_PARENTING_POLICY;
    const text = rule.trim();
    if (/^\d+$/.test(text)) return { windowMs: Number(text) * 1000, fields: [] };
    try {
      const parsed = JSON.parse(text) as { TimespanSeconds?: unknown; fields?: unknown };
      const seconds = typeof parsed.TimespanSeconds === 'number' ? parsed.TimespanSeconds : DEFAULT_PARENTING_POLICY.windowMs / 1000;
      const fields = Array.isArray(parsed.fields) ? parsed.fields.filter((f): f is string => typeof f === 'string') : [];
      return { windowMs: seconds * 1000, fields };
    } catch {
      return DEFAULT_PARENTING_POLICY;
    }
  }

  private exactlyByDeviceId(entitySet: string, deviceId: string): WireRecord | undefined {
    const table = this.store.table(entitySet)!;
    // Text compares case-insensitively in Dataverse; hub device ids are case-sensitive.
    return this.store
      .query(table, { filter: { kind: 'compare', op: 'eq', property: 'msdyn_deviceid', literal: { kind: 'string', value: deviceId } } })
      .find((r) => r['msdyn_deviceid'] === deviceId);
  }
}

function fieldsOf(alertData: unknown, policy: ParentingPolicy): Record<string, string | number | null> | undefined {
  if (policy.fields.length === 0 || typeof alertData !== 'string') return undefined;
  try {
    const data = JSON.parse(alertData) as Record<string, unknown>;
    return Object.fromEntries(policy.fields.map((f) => [f, typeof data[f] === 'string' || typeof data[f] === 'number' ? (data[f] as string | number) : null]));
  } catch {
    return undefined;
  }
}
