import { AlertState, AlertStatus, CfsCommandStatus, RegistrationStatus, type CommandState } from '@fieldlink/domain';
import type { CrmCommand, CrmGatewayPort, CrmWorkOrder, DeviceHealth, LogPort, StatusStorePort, StoredIoTAlert } from '@fieldlink/ports';
import { StatusRowsReader } from './status-rows-reader.js';

/** What the console page shows, in one read: the CRM's records joined with the status store's health. */
export interface ConsoleSnapshot {
  readonly generatedAt: number;
  readonly devices: readonly DeviceRow[];
  /** Root alerts, newest first, each with its children (parent/child grouping, domain.md). */
  readonly alerts: readonly AlertGroup[];
  readonly commands: readonly CommandRow[];
}

export interface DeviceRow {
  readonly deviceId: string;
  /** Absent for a device the hub has heard from but the CRM does not know. */
  readonly deviceRecordId?: string;
  readonly name: string;
  readonly deviceType?: string;
  readonly registration: { readonly value: number; readonly label: string; readonly message?: string };
  /** From heartbeats: undefined when nothing ever arrived. */
  readonly online?: boolean;
  readonly lastActivityTime?: number;
  readonly lastReadings: Readonly<Record<string, number>>;
}

export interface AlertRow {
  readonly alertId: string;
  readonly deviceId: string;
  readonly deviceType?: string;
  readonly description: string;
  readonly alertTime: number;
  readonly state: { readonly value: number; readonly label: string };
  readonly status: { readonly value: number; readonly label: string };
  readonly closed: boolean;
  readonly parentAlertId?: string;
  readonly caseId?: string;
  readonly lastCommandId?: string;
  readonly workOrderIds: readonly string[];
}

export interface AlertGroup extends AlertRow {
  readonly children: readonly AlertRow[];
}

export interface CommandRow {
  readonly commandId: string;
  readonly deviceId: string;
  readonly name: string;
  readonly message: string;
  readonly state: CommandState;
  readonly cfsStatus: { readonly value: number; readonly label: string };
  readonly statusReason?: string;
  readonly parentAlertId?: string;
  readonly createdOn: number;
  readonly modifiedOn: number;
}

const labelOf = (table: Readonly<Record<string, number>>, value: number, names: Readonly<Record<string, string>> = {}): string => {
  const key = Object.keys(table).find((k) => table[k] === value);
  return key === undefined ? `Unknown (${value})` : (names[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2'));
};

const ALERT_STATUS_NAMES = { InProgressCaseCreated: 'In Progress – Case Created', InProgressCommandSent: 'In Progress – Command Sent' };

export interface SnapshotSources {
  readonly crm: CrmGatewayPort;
  readonly statusStore: StatusStorePort;
  readonly now: () => number;
  /** Rows per list (alerts, commands); default 200. */
  readonly top?: number;
  /** Where a status row that cannot be read is reported (it is left out of the snapshot). */
  readonly log?: LogPort | undefined;
}

export async function readConsoleSnapshot(sources: SnapshotSources): Promise<ConsoleSnapshot> {
  const top = sources.top ?? 200;
  const [crmDevices, health, alerts, commands, workOrders] = await Promise.all([
    sources.crm.listDevices(),
    new StatusRowsReader(sources.statusStore, sources.log).health(),
    sources.crm.listIoTAlerts({ top }),
    sources.crm.listCommands({ top }),
    sources.crm.listWorkOrders(),
  ]);
  const healthOf = new Map<string, DeviceHealth>(health.map((h) => [h.deviceId, h]));
  const devices: DeviceRow[] = crmDevices.map((d) => {
    const h = healthOf.get(d.deviceId);
    return {
      deviceId: d.deviceId,
      deviceRecordId: d.deviceRecordId,
      name: d.name,
      deviceType: d.deviceType,
      registration: {
        value: d.registrationStatus,
        label: labelOf(RegistrationStatus, d.registrationStatus, { InProgress: 'In Progress' }),
        ...(d.registrationMessage === undefined ? {} : { message: d.registrationMessage }),
      },
      ...healthFields(h),
    };
  });
  const known = new Set(crmDevices.map((d) => d.deviceId));
  for (const h of health) {
    if (known.has(h.deviceId)) continue;
    devices.push({ deviceId: h.deviceId, name: h.deviceId, registration: { value: RegistrationStatus.Unknown, label: 'Not in CRM' }, ...healthFields(h) });
  }
  devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId, undefined, { numeric: true }));
  const typeOf = new Map(crmDevices.map((d) => [d.deviceId, d.deviceType]));
  return { generatedAt: sources.now(), devices, alerts: groupAlerts(alerts, workOrders, typeOf), commands: commands.map(commandRow) };
}

function healthFields(h: DeviceHealth | undefined): Pick<DeviceRow, 'online' | 'lastActivityTime' | 'lastReadings'> {
  return h === undefined ? { lastReadings: {} } : { online: h.online, lastActivityTime: h.lastActivityTime, lastReadings: h.lastReadings };
}

function groupAlerts(alerts: readonly StoredIoTAlert[], workOrders: readonly CrmWorkOrder[], typeOf: ReadonlyMap<string, string>): AlertGroup[] {
  const ordersOf = new Map<string, string[]>();
  for (const w of workOrders) ordersOf.set(w.alertId, [...(ordersOf.get(w.alertId) ?? []), w.workOrderId]);
  const rows = alerts.map((a): AlertRow => {
    const deviceType = typeOf.get(a.deviceId);
    return {
      alertId: a.alertId,
      deviceId: a.deviceId,
      ...(deviceType === undefined ? {} : { deviceType }),
      description: a.description,
      alertTime: a.alertTime,
      state: { value: a.state, label: labelOf(AlertState, a.state, { InProgress: 'In Progress' }) },
      status: { value: a.status, label: labelOf(AlertStatus, a.status, ALERT_STATUS_NAMES) },
      closed: a.state === AlertState.Closed,
      ...(a.parentAlertId === undefined ? {} : { parentAlertId: a.parentAlertId }),
      ...(a.caseId === undefined ? {} : { caseId: a.caseId }),
      ...(a.lastCommandId === undefined ? {} : { lastCommandId: a.lastCommandId }),
      workOrderIds: ordersOf.get(a.alertId) ?? [],
    };
  });
  const ids = new Set(rows.map((r) => r.alertId));
  const childrenOf = new Map<string, AlertRow[]>();
  for (const r of rows) {
    // A child whose parent fell outside the list is shown as a root, so nothing disappears.
    if (r.parentAlertId !== undefined && ids.has(r.parentAlertId)) childrenOf.set(r.parentAlertId, [...(childrenOf.get(r.parentAlertId) ?? []), r]);
  }
  return rows.filter((r) => r.parentAlertId === undefined || !ids.has(r.parentAlertId)).map((r) => ({ ...r, children: childrenOf.get(r.alertId) ?? [] }));
}

function commandRow(c: CrmCommand): CommandRow {
  return {
    commandId: c.commandId,
    deviceId: c.deviceId,
    name: c.name,
    message: c.message,
    state: c.state,
    cfsStatus: { value: c.cfsStatus, label: labelOf(CfsCommandStatus, c.cfsStatus, { InProgress: 'In Progress' }) },
    ...(c.statusReason === undefined ? {} : { statusReason: c.statusReason }),
    ...(c.parentAlertId === undefined ? {} : { parentAlertId: c.parentAlertId }),
    createdOn: c.createdOn,
    modifiedOn: c.modifiedOn,
  };
}
