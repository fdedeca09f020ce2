import {
  FieldlinkError,
  type CfsCommandStatus,
  type CodedError,
  type CommandState,
  type IoTAlert,
  type RegistrationStatus,
  type Result,
} from '@fieldlink/domain';

/*
 * The CRM side (Dynamics 365 / Dataverse, or an in-memory stand-in): the records the flows read
 * and write. It is split into role interfaces by what a flow needs (devices, alerts, commands,
 * work, device data, settings, device categories); each flow takes only the roles it uses
 * (`crm: CrmCommandsPort & CrmDevicesPort`, ...). `CrmGatewayPort` is all of them, which each CRM
 * adapter implements and the composition root binds. Reads that only tests make (an asset by id,
 * the alerts of a token, the cases) are not here: see `CrmReadBack` in `@fieldlink/ports/testing`.
 *
 * Ids: `...RecordId` / `alertId` / `commandId` are CRM record ids (GUIDs in Dataverse); `deviceId`
 * is always the IoT hub device id (`msdyn_deviceid`).
 */

// ---- devices and customer assets (msdyn_iotdevice, msdyn_customerasset) ----

export interface CrmDevice {
  readonly deviceRecordId: string;
  /** The hub device id; may contain `'` and non-ASCII is refused by the hub, not here. */
  readonly deviceId: string;
  readonly name: string;
  readonly deviceType: string;
  readonly customerAssetId?: string;
  readonly tags?: Readonly<Record<string, unknown>>;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly registrationStatus: RegistrationStatus;
  readonly registrationMessage?: string;
}

export interface CrmCustomerAsset {
  readonly customerAssetId: string;
  readonly name: string;
}

/** Flow 18″: what registration did for one device, written back onto the CRM device. */
export interface RegistrationResult {
  readonly deviceRecordId: string;
  readonly deviceId: string;
  readonly status: typeof RegistrationStatus.Registered | typeof RegistrationStatus.Error | typeof RegistrationStatus.InProgress;
  readonly message: string;
}

export interface CrmDevicesPort {
  upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void>;
  /** Creates or replaces the device record with this `deviceRecordId`. */
  upsertDevice(device: CrmDevice): Promise<void>;
  getDevice(deviceRecordId: string): Promise<CrmDevice | undefined>;
  findDeviceByHubId(deviceId: string): Promise<CrmDevice | undefined>;
  listDevices(): Promise<CrmDevice[]>;
  /**
   * Writes each result onto its device (an update only: a missing device is never created). The
   * devices the CRM does not hold are the `DeviceNotFound` error, after every other result is
   * written. Rejects (`CrmError`) only on an infrastructure failure.
   */
  writeRegistrationResults(results: readonly RegistrationResult[]): Promise<RegistrationResultsWrite>;
}

/**
 * Registration results for device records the CRM does not hold (never created, deleted, or an id
 * that is no record id); every other result of the call was written.
 */
export interface DeviceRecordsNotFound extends CodedError<'DeviceNotFound'> {
  /** The `deviceRecordId`s of the results that were not written, in the order given. */
  readonly deviceRecordIds: readonly string[];
}

export const deviceRecordsNotFound = (deviceRecordIds: readonly string[], cause?: unknown): DeviceRecordsNotFound => ({
  code: 'DeviceNotFound',
  message: `no msdyn_iotdevice with id ${deviceRecordIds.map((id) => JSON.stringify(id)).join(', ')}`,
  deviceRecordIds: [...deviceRecordIds],
  ...(cause === undefined ? {} : { cause }),
});

/** Ok when every result was written; `DeviceNotFound` names the devices the CRM does not hold. */
export type RegistrationResultsWrite = Result<void, DeviceRecordsNotFound>;

// ---- alerts (msdyn_iotalert) ----

/**
 * An alert to create, with what the inbound flow resolved: the device record, its asset, its
 * parent (none of them when the organisation enriches alerts itself, as CFS's plug-ins do).
 */
export interface NewIoTAlert extends IoTAlert {
  /**
   * The record id to create it under, given when the caller needs idempotency: one event token
   * may carry several alerts (one per reading type and rule output), each its own record.
   */
  readonly alertId?: string;
  readonly deviceRecordId?: string;
  readonly customerAssetId?: string;
  readonly parentAlertId?: string;
}

export interface StoredIoTAlert extends NewIoTAlert {
  readonly alertId: string;
  readonly caseId?: string;
  readonly lastCommandId?: string;
}

export interface CreatedIoTAlert {
  readonly alertId: string;
  /** False when the alert existed already (same `alertId`, or without one the same token): creation is idempotent. */
  readonly created: boolean;
}

export type IoTAlertPatch = Partial<Pick<StoredIoTAlert, 'state' | 'status' | 'parentAlertId' | 'caseId' | 'lastCommandId'>>;

/** A patch of an alert the CRM does not hold (never created, deleted, or an id that is no record id). */
export interface AlertNotFound extends CodedError<'AlertNotFound'> {
  readonly alertId: string;
}

export const alertNotFound = (alertId: string, cause?: unknown): AlertNotFound => ({
  code: 'AlertNotFound',
  message: `no msdyn_iotalert with id ${JSON.stringify(alertId)}`,
  alertId,
  ...(cause === undefined ? {} : { cause }),
});

/** Ok when the patch was applied. */
export type IoTAlertUpdate = Result<void, AlertNotFound>;

export interface CrmAlertsPort {
  /**
   * Creates the alert unless it exists: with `alertId`, a record with that id; without, a record
   * with the same alert token. Never makes a second record of one alert.
   */
  createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert>;
  getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined>;
  /** Alerts of a device with `alertTime` at or after `since` (epoch ms), newest first: for parenting. */
  findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]>;
  /**
   * Applies the patch; an alert the CRM does not hold is the `AlertNotFound` error (the patch
   * creates nothing). Rejects (`CrmError`) only on an infrastructure failure, or with `NotFound`
   * when the alert exists and a record the patch refers to (parent, case, command) does not.
   */
  updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<IoTAlertUpdate>;
  /** Newest first. */
  listIoTAlerts(query?: { readonly deviceId?: string; readonly top?: number }): Promise<StoredIoTAlert[]>;
}

// ---- commands (msdyn_iotdevicecommand) ----

export interface NewCrmCommand {
  /** Given when the caller needs idempotency (a redelivered request makes no second command). */
  readonly commandId?: string;
  readonly name: string;
  /** The payload as JSON text (`msdyn_message`, at most 8,192 characters). */
  readonly message: string;
  readonly deviceId: string;
  readonly deviceRecordId?: string;
  readonly customerAssetId?: string;
  readonly parentAlertId?: string;
  readonly sendToAllConnectedDevices?: boolean;
}

export interface CrmCommand extends NewCrmCommand {
  readonly commandId: string;
  readonly state: CommandState;
  readonly cfsStatus: CfsCommandStatus;
  readonly statusReason?: string;
  /** Epoch ms. */
  readonly createdOn: number;
  readonly modifiedOn: number;
}

export interface CommandStatusUpdate {
  readonly state: CommandState;
  readonly cfsStatus: CfsCommandStatus;
  readonly statusReason?: string;
}

/** Applies a status write only while the command is still in the state the caller read. */
export interface CommandStatusCondition {
  readonly ifState: CommandState;
}

/** A conditional status write that was not applied: another writer moved the command first. */
export interface CommandStateMoved extends CodedError<'StateMoved'> {
  readonly commandId: string;
  readonly expected: CommandState;
  /** The state the command was found in; the record is unchanged. */
  readonly found: CommandState;
}

export const commandStateMoved = (commandId: string, expected: CommandState, found: CommandState): CommandStateMoved => ({
  code: 'StateMoved',
  message: `command ${commandId} is ${found}, not ${expected}: another writer moved it first`,
  commandId,
  expected,
  found,
});

/** A status write to a command the CRM does not hold (never created, deleted, or an id that is no record id). */
export interface CommandNotFound extends CodedError<'CommandNotFound'> {
  readonly commandId: string;
}

export const commandNotFound = (commandId: string, cause?: unknown): CommandNotFound => ({
  code: 'CommandNotFound',
  message: `no msdyn_iotdevicecommand with id ${JSON.stringify(commandId)}`,
  commandId,
  ...(cause === undefined ? {} : { cause }),
});

/**
 * Why a status write was not applied, each an outcome its caller decides upon:
 * - `StateMoved`: the write was conditional, and another writer moved the command first;
 * - `CommandNotFound`: there is no such command, conditional or not.
 */
export type CommandStatusWriteError = CommandStateMoved | CommandNotFound;

/** Ok when the write was applied (always, for an unconditional write to a command that exists). */
export type CommandStatusWrite = Result<void, CommandStatusWriteError>;

export interface CrmCommandsPort {
  createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }>;
  getCommand(commandId: string): Promise<CrmCommand | undefined>;
  /**
   * Writes the status; with a condition, atomically only while the command is in `ifState`
   * (a read-then-write never moves a command back over another writer's newer state). A missing
   * command is the `CommandNotFound` error, conditional or not. Rejects (`CrmError`) only on an
   * infrastructure failure: the CRM unavailable or throttled beyond the adapter's retries
   * (`Transient`, also when the row kept changing under every conditional attempt), refused
   * credentials (`Unauthorized`), an answer the adapter cannot use (`Rejected`).
   */
  updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite>;
  /** Newest first. */
  listCommands(query?: { readonly deviceId?: string; readonly top?: number }): Promise<CrmCommand[]>;
  /**
   * Every command in `state`, oldest first (by `createdOn`), a page of at most `pageSize` at a
   * time through the CRM's own paging: the sweep of commands still requested, or overdue in
   * sent or delivered, however many there are. A command that leaves the state while the pages
   * are read may or may not be in a later page; none still in it is skipped.
   */
  commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]>;
}

// ---- cases and work orders (incident, msdyn_workorder) ----

export interface NewCrmCase {
  readonly title: string;
  readonly alertId: string;
  readonly customerAssetId?: string;
  readonly description?: string;
}
export interface CrmCase extends NewCrmCase {
  readonly caseId: string;
}

export interface NewCrmWorkOrder {
  readonly alertId: string;
  readonly customerAssetId?: string;
  readonly caseId?: string;
  readonly summary: string;
  /** The primary incident type (`msdyn_primaryincidenttype`), by name. */
  readonly incidentType?: string;
  /** The priority (`msdyn_priority`), by name. */
  readonly priority?: string;
}
export interface CrmWorkOrder extends NewCrmWorkOrder {
  readonly workOrderId: string;
}

export interface CrmWorkPort {
  /** Idempotent per alert: a second call for the same alert returns the first case. */
  createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string; readonly created: boolean }>;
  /** Idempotent per alert: a second call for the same alert returns the first work order. */
  createWorkOrder(workOrder: NewCrmWorkOrder): Promise<{ readonly workOrderId: string; readonly created: boolean }>;
  listWorkOrders(query?: { readonly alertId?: string }): Promise<CrmWorkOrder[]>;
}

// ---- device data history (msdyn_iotdevicedatahistory), "pull device data" ----

export interface DeviceDataHistoryEntry {
  readonly deviceId: string;
  readonly deviceRecordId?: string;
  readonly connectionState: 'Connected' | 'Disconnected';
  /** Epoch ms, when the hub last saw the device. */
  readonly lastActivityTime?: number;
  /** The twin's reported properties as JSON text. */
  readonly reportedProperties: string;
  /** Epoch ms. */
  readonly recordedOn: number;
}

export interface CrmDeviceDataPort {
  addDeviceDataHistory(entry: DeviceDataHistoryEntry): Promise<void>;
  /** Newest first. */
  listDeviceDataHistory(deviceId: string): Promise<DeviceDataHistoryEntry[]>;
}

// ---- the organisation's IoT settings (msdyn_iotsettings) ----

/** The property names of a command message (`msdyn_message`), as the organisation's IoT settings set them. */
export interface CrmIoTSettings {
  /** `msdyn_commandnameproperty`; "CommandName" when unspecified. */
  readonly commandNameProperty: string;
  /** `msdyn_commandparametersproperty`; "Parameters" when unspecified. */
  readonly commandParametersProperty: string;
}

export const DEFAULT_IOT_SETTINGS: CrmIoTSettings = { commandNameProperty: 'CommandName', commandParametersProperty: 'Parameters' };

export interface CrmSettingsPort {
  /** The IoT settings record's values, each defaulted when the record or the column is empty. */
  getIoTSettings(): Promise<CrmIoTSettings>;
}

// ---- device categories (msdyn_iotdevicecategory): what a device type is in the CRM ----

export interface CrmDeviceCategoryCommand {
  readonly name: string;
  /** Names of the command's parameters, where the organisation defines them. */
  readonly parameters: readonly string[];
}

export interface CrmDeviceCategory {
  readonly categoryId: string;
  /** The category's name: a device's `deviceType`. */
  readonly name: string;
  /** The readings (property definitions) the organisation shows for devices of this category. */
  readonly readings: readonly string[];
  /** The commands (command definitions) the organisation offers for devices of this category. */
  readonly commands: readonly CrmDeviceCategoryCommand[];
}

export interface CrmDeviceCategoriesPort {
  /** Every device category, by name; readings and commands empty where the organisation defines none. */
  listDeviceCategories(): Promise<CrmDeviceCategory[]>;
}

/** Everything the flows need from the CRM; each CRM adapter implements all of it. */
export interface CrmGatewayPort
  extends CrmDevicesPort, CrmAlertsPort, CrmCommandsPort, CrmWorkPort, CrmDeviceDataPort, CrmDeviceCategoriesPort, CrmSettingsPort {}

/** Why a CRM call failed. `Transient` and `Unauthorized` are retried by the queue (abandon); the permanent ones dead-letter. */
export type CrmErrorCode =
  /** Throttled (429) or unavailable (503) beyond what the adapter's own retries absorbed. */
  | 'Transient'
  /**
   * A record the call refers to does not exist (a lookup to a missing record). A missing record
   * the call is about is a `Result` error instead (`AlertNotFound`, `CommandNotFound`, `DeviceNotFound`).
   */
  | 'NotFound'
  /** The CRM refused the data (400): retrying will not help. */
  | 'Rejected'
  /** Authentication or authorisation failed: configuration is wrong. */
  | 'Unauthorized';

/** The codes a retry cannot fix (`FieldlinkError.permanent`): the queue dead-letters them at once. */
export const PERMANENT_CRM_ERROR_CODES: ReadonlySet<CrmErrorCode> = new Set<CrmErrorCode>(['NotFound', 'Rejected']);

export class CrmError extends FieldlinkError<CrmErrorCode> {
  /** The HTTP status the CRM answered with, when the failure was an answer (a 412 tells a guarded write's "exists" from a 400). */
  readonly status: number | undefined;

  constructor(code: CrmErrorCode, message: string, options: { readonly status?: number; readonly cause?: unknown } = {}) {
    super(code, message, { ...(options.cause === undefined ? {} : { cause: options.cause }), permanent: PERMANENT_CRM_ERROR_CODES.has(code) });
    this.name = 'CrmError';
    this.status = options.status;
  }
}
