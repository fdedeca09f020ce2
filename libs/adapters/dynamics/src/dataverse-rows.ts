import {
  AlertType as AlertTypeValue,
  CfsCommandStatus as CfsCommandStatusValue,
  RegistrationStatus as RegistrationStatusValue,
  type AlertState,
  type AlertStatus,
  type AlertType,
  type CfsCommandStatus,
  type CommandState,
  type RegistrationStatus,
} from '@fieldlink/domain';
import { CrmError, type CrmCommand, type CrmDevice, type NewCrmWorkOrder, type StoredIoTAlert } from '@fieldlink/ports';
import { ExtensionColumns, Navigation, Tables, type TableName } from './cfs-tables.js';
import { decodeCommandStatusReason } from './command-status-reason.js';
import { isGuid, odataGuid, toDataverseDateTime } from './odata-literal.js';

/*
 * Dataverse rows to the port's records and back: the column readers, the row mappers, and the
 * record ids and lookups a write binds. Pure functions; the requests are dataverse-client.ts's.
 */

export type Row = Record<string, unknown>;

export const str = (value: unknown): string => (value instanceof Date ? toDataverseDateTime(value.getTime()) : value == null ? '' : String(value));

export const optional = <K extends string>(key: K, value: unknown): { [P in K]?: string } =>
  value == null || value === '' ? {} : ({ [key]: str(value) } as { [P in K]?: string });

export const epochOf = (value: unknown): number => (value instanceof Date ? value.getTime() : Date.parse(String(value)));

const parseJsonObject = (text: unknown): Record<string, unknown> | undefined => {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** A choice column read as a number, with the CRM's default when the row leaves it empty. */
const choiceOr = <T extends number>(value: unknown, fallback: T): T => Number(value ?? fallback) as T;

export function toDevice(r: Row, deviceType: string, customerAssetId: string | undefined): CrmDevice {
  const tags = parseJsonObject(r['msdyn_tags']);
  const settings = parseJsonObject(r['msdyn_devicesettings']);
  return {
    deviceRecordId: str(r['msdyn_iotdeviceid']),
    deviceId: str(r['msdyn_deviceid']),
    name: str(r['msdyn_name']),
    deviceType,
    ...optional('customerAssetId', customerAssetId),
    ...(tags !== undefined ? { tags } : {}),
    ...(settings !== undefined ? { settings } : {}),
    registrationStatus: choiceOr<RegistrationStatus>(r['msdyn_registrationstatus'], RegistrationStatusValue.Unknown),
    ...optional('registrationMessage', r['msdyn_registrationmessage']),
  };
}

export function toAlert(r: Row): StoredIoTAlert {
  return {
    alertId: str(r['msdyn_iotalertid']),
    alertToken: str(r['msdyn_alerttoken']),
    deviceId: str(r['msdyn_deviceid']),
    description: str(r['msdyn_description']),
    alertData: str(r['msdyn_alertdata']),
    alertTime: epochOf(r['msdyn_alerttime']),
    alertType: choiceOr<AlertType>(r['msdyn_alerttype'], AlertTypeValue.Anomaly),
    state: Number(r['statecode']) as AlertState,
    status: Number(r['statuscode']) as AlertStatus,
    ...optional('deviceRecordId', r['_msdyn_device_value']),
    ...optional('customerAssetId', r['_msdyn_customerasset_value']),
    ...optional('parentAlertId', r['_msdyn_parentalert_value']),
    ...optional('caseId', r['_msdyn_case_value']),
    ...optional('lastCommandId', r['_msdyn_lastcommandsent_value']),
  };
}

const cfsStatusOfRow = (r: Row): CfsCommandStatus => choiceOr<CfsCommandStatus>(r['msdyn_commandstatus'], CfsCommandStatusValue.InProgress);

/** The command's state and reason: from msdyn_commandstatusreason (see command-status-reason.ts). */
export const toCommandStatus = (r: Row): { readonly state: CommandState; readonly statusReason?: string } => {
  const decoded = decodeCommandStatusReason(cfsStatusOfRow(r), r['msdyn_commandstatusreason'] as string | null | undefined);
  // With the extension solution, its column holds the state (a reason edited by hand cannot move it).
  const extended = r[ExtensionColumns.commandState.column];
  return typeof extended === 'string' && extended !== '' ? { ...decoded, state: extended as CommandState } : decoded;
};

export function toCommand(r: Row): CrmCommand {
  return {
    commandId: str(r['msdyn_iotdevicecommandid']),
    name: str(r['msdyn_name']),
    message: str(r['msdyn_message']),
    deviceId: str(r['msdyn_deviceid']),
    ...optional('deviceRecordId', r['_msdyn_device_value']),
    ...optional('customerAssetId', r['_msdyn_customerasset_value']),
    ...optional('parentAlertId', r['_msdyn_parentalert_value']),
    sendToAllConnectedDevices: r['msdyn_sendtoallconnecteddevices'] === true,
    ...toCommandStatus(r),
    cfsStatus: cfsStatusOfRow(r),
    createdOn: epochOf(r['createdon']),
    modifiedOn: epochOf(r['modifiedon']),
  };
}

export function workOrderSummary(w: NewCrmWorkOrder): string {
  const extra = [
    w.incidentType === undefined ? undefined : `incident type: ${w.incidentType}`,
    w.priority === undefined ? undefined : `priority: ${w.priority}`,
  ].filter((x) => x !== undefined);
  return extra.length === 0 ? w.summary : `${w.summary} (${extra.join(', ')})`;
}

/** The id as Dataverse writes it; an id that is no GUID is refused (`Rejected`): no record could have it. */
export function recordId(what: string, id: string): string {
  if (!isGuid(id)) throw new CrmError('Rejected', `${what} id must be a GUID, got ${JSON.stringify(id)}`);
  return odataGuid(id);
}

/** `{ "<navigation>@odata.bind": "/set(id)" }` under the lookup's stock navigation name, or a cleared lookup (`null`) when `clear` and no id. */
export function bind<F extends keyof typeof Navigation>(
  from: F,
  lookup: keyof (typeof Navigation)[F],
  to: TableName,
  id: string | undefined,
  clear: boolean,
): Row {
  const nav = Navigation[from][lookup] as string;
  if (id === undefined) return clear ? { [`${nav}@odata.bind`]: null } : {};
  return { [`${nav}@odata.bind`]: `/${Tables[to].set}(${recordId(String(lookup), id)})` };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
