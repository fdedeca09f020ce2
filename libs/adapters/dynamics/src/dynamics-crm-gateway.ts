import { randomUUID } from 'node:crypto';
import { err, ok, type CommandState } from '@fieldlink/domain';
import {
  DEFAULT_IOT_SETTINGS,
  deviceRecordsNotFound,
  type CommandStatusCondition,
  type CommandStatusUpdate,
  type CommandStatusWrite,
  type CreatedIoTAlert,
  type CrmCase,
  type CrmCommand,
  type CrmCustomerAsset,
  type CrmDevice,
  type CrmDeviceCategory,
  type CrmGatewayPort,
  type CrmIoTSettings,
  type CrmWorkOrder,
  type DeviceDataHistoryEntry,
  type IoTAlertPatch,
  type IoTAlertUpdate,
  type LogPort,
  type NewCrmCase,
  type NewCrmCommand,
  type NewCrmWorkOrder,
  type NewIoTAlert,
  type RegistrationResult,
  type RegistrationResultsWrite,
  type StoredIoTAlert,
} from '@fieldlink/ports';
import { CASE_ASSETS_RELATIONSHIP, CaseColumns, DEVICE_DATA_STATUS_ENABLED, DeviceColumns, DeviceDataColumns, Tables, WorkOrderColumns } from './cfs-tables.js';
import { DataverseAlerts } from './dataverse-alerts.js';
import { writeInChangesets } from './dataverse-batch.js';
import { DataverseClient, type BatchOutcome, type BatchWrite } from './dataverse-client.js';
import { DataverseCommands } from './dataverse-commands.js';
import { DataverseDeviceCategories } from './dataverse-device-categories.js';
import { toCrmError } from './dataverse-error.js';
import { bind, epochOf, optional, recordId, str, toDevice, workOrderSummary, type Row } from './dataverse-rows.js';
import { deterministicGuid } from './deterministic-id.js';
import type { DynamicsSettings } from './dynamics-settings.js';
import { eqLookup, eqString, isGuid, toDataverseDateTime } from './odata-literal.js';
import type { ServiceProtectionGate, Timing } from './service-protection.js';

/**
 * From this many registration results on, they are written in `$batch` requests. One result (the
 * console's Register button, a single CFS registration) is a plain PATCH: one request instead of a
 * multipart one with a random boundary, which a contract test or a proxy log can read and match.
 */
export const REGISTRATION_BATCH_FROM = 2;

export interface DynamicsCrmGatewayOptions {
  readonly log?: LogPort;
  /** Clock, sleep and randomness of the retry gate and the token cache; the real ones unless a test replaces them. */
  readonly timing?: Timing;
}

/**
 * The CRM gateway on Dataverse's Web API. Every request goes through one `DataverseClient`
 * (service-protection gate, time limit, token cache, failures as `CrmError` with the HTTP status),
 * every create is a guarded upsert under an id the adapter chose (so a retry or a redelivery never
 * makes a second record), and every value inside a filter is an escaped literal. Devices, cases,
 * work orders, device data and settings are here; alerts are `DataverseAlerts`', commands
 * `DataverseCommands'`, device categories `DataverseDeviceCategories`', the row mappers dataverse-rows.ts's, `$batch` dataverse-batch.ts's.
 */
export class DynamicsCrmGateway implements CrmGatewayPort {
  private readonly client: DataverseClient;
  private readonly alerts: DataverseAlerts;
  private readonly commands: DataverseCommands;
  private readonly categories: DataverseDeviceCategories;

  constructor(settings: DynamicsSettings, options: DynamicsCrmGatewayOptions = {}) {
    this.client = new DataverseClient(settings, options);
    this.alerts = new DataverseAlerts(this.client);
    this.commands = new DataverseCommands(this.client, settings.extension);
    this.categories = new DataverseDeviceCategories(this.client);
  }

  /** The service-protection gate every request passes (its 429 count, for logs and tests). */
  get gate(): ServiceProtectionGate {
    return this.client.gate;
  }

  // ---- devices and customer assets ----

  async upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void> {
    const id = recordId('customer asset', asset.customerAssetId);
    await this.client.exec('upsert msdyn_customerasset', (signal) =>
      this.client.api.upsert({ collection: Tables.customerAssets.set, key: id, data: { msdyn_name: asset.name }, signal }),
    );
  }

  async getCustomerAsset(customerAssetId: string): Promise<CrmCustomerAsset | undefined> {
    const row = await this.client.retrieve('customerAssets', customerAssetId, ['msdyn_customerassetid', 'msdyn_name']);
    return row === undefined ? undefined : { customerAssetId: str(row['msdyn_customerassetid']), name: str(row['msdyn_name']) };
  }

  /**
   * The device record, its category (the device type: `msdyn_category`, the category found by
   * name or made under an id derived from the name) and its customer asset: in a stock
   * organisation the asset names its connected device in its own `msdyn_deviceid`, so the asset
   * given is written with this device's hub id (the device has no lookup to an asset).
   */
  async upsertDevice(device: CrmDevice): Promise<void> {
    const id = recordId('device', device.deviceRecordId);
    const categoryId = device.deviceType === '' ? undefined : await this.categories.idOf(device.deviceType);
    const data: Row = {
      msdyn_name: device.name,
      msdyn_deviceid: device.deviceId,
      msdyn_tags: device.tags === undefined ? null : JSON.stringify(device.tags),
      msdyn_devicesettings: device.settings === undefined ? null : JSON.stringify(device.settings),
      msdyn_registrationstatus: device.registrationStatus,
      msdyn_registrationmessage: device.registrationMessage ?? null,
      ...bind('devices', 'msdyn_category', 'deviceCategories', categoryId, true),
    };
    await this.client.exec('upsert msdyn_iotdevice', (signal) => this.client.api.upsert({ collection: Tables.devices.set, key: id, data, signal }));
    if (device.customerAssetId !== undefined) {
      const assetId = recordId('customer asset', device.customerAssetId);
      // Another asset that named this device no longer does: a device has one asset here.
      for (const other of await this.assetsOfDevice(device.deviceId)) {
        if (other !== assetId)
          await this.client.exec('update msdyn_customerasset', (signal) =>
            this.client.api.update({ collection: Tables.customerAssets.set, key: other, data: { msdyn_deviceid: null }, ifmatch: '*', signal }),
          );
      }
      await this.client.exec('update msdyn_customerasset', (signal) =>
        this.client.api.update({ collection: Tables.customerAssets.set, key: assetId, data: { msdyn_deviceid: device.deviceId }, ifmatch: '*', signal }),
      );
    }
  }

  async getDevice(deviceRecordId: string): Promise<CrmDevice | undefined> {
    const row = await this.client.retrieve('devices', deviceRecordId, DeviceColumns);
    return row === undefined ? undefined : this.toDevice(row);
  }

  async findDeviceByHubId(deviceId: string): Promise<CrmDevice | undefined> {
    const rows = await this.client.query('devices', DeviceColumns, { filter: eqString('msdyn_deviceid', deviceId), top: 2 });
    // The filter compares case-insensitively in Dataverse; hub ids are case-sensitive.
    const row = rows.find((r) => r['msdyn_deviceid'] === deviceId);
    return row === undefined ? undefined : this.toDevice(row);
  }

  async listDevices(): Promise<CrmDevice[]> {
    const [rows, assets, categories] = await Promise.all([
      this.client.query('devices', DeviceColumns, { orderBy: ['msdyn_name asc'] }),
      this.client.query('customerAssets', ['msdyn_customerassetid', 'msdyn_deviceid'], { filter: 'msdyn_deviceid ne null' }),
      this.categories.names(),
    ]);
    const assetByDevice = new Map<string, string>();
    for (const a of assets) if (!assetByDevice.has(str(a['msdyn_deviceid']))) assetByDevice.set(str(a['msdyn_deviceid']), str(a['msdyn_customerassetid']));
    return rows.map((r) => toDevice(r, categories.get(str(r['_msdyn_category_value'])) ?? '', assetByDevice.get(str(r['msdyn_deviceid']))));
  }

  // ---- device categories (dataverse-device-categories.ts) ----

  listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    return this.categories.listDeviceCategories();
  }

  /** Ids of the customer assets whose msdyn_deviceid is this hub id (exactly). */
  private async assetsOfDevice(deviceId: string): Promise<string[]> {
    const rows = await this.client.query('customerAssets', ['msdyn_customerassetid', 'msdyn_deviceid'], { filter: eqString('msdyn_deviceid', deviceId) });
    return rows.filter((r) => r['msdyn_deviceid'] === deviceId).map((r) => str(r['msdyn_customerassetid']));
  }

  private async toDevice(row: Row): Promise<CrmDevice> {
    const categoryId = str(row['_msdyn_category_value']);
    const [category, assets] = await Promise.all([
      categoryId === '' ? Promise.resolve(undefined) : this.client.retrieve('deviceCategories', categoryId, ['msdyn_name']),
      this.assetsOfDevice(str(row['msdyn_deviceid'])),
    ]);
    return toDevice(row, category === undefined ? '' : str(category['msdyn_name']), assets[0]);
  }

  /**
   * Each result is an update of its device (`If-Match: *`, so a missing device is never created).
   * Fewer than `REGISTRATION_BATCH_FROM` results go as plain PATCH requests, the others in `$batch`
   * requests of small changesets; the devices Dataverse answers 404 for (and ids that are no GUID,
   * which are not sent) are the `DeviceNotFound` error, after all others are written.
   */
  async writeRegistrationResults(results: readonly RegistrationResult[]): Promise<RegistrationResultsWrite> {
    const sent = results.filter((r) => isGuid(r.deviceRecordId));
    const writes: BatchWrite[] = sent.map((r) => ({
      table: 'devices',
      id: recordId('device', r.deviceRecordId),
      mode: 'update',
      data: { msdyn_deviceid: r.deviceId, msdyn_registrationstatus: r.status, msdyn_registrationmessage: r.message },
    }));
    const outcomes =
      writes.length < REGISTRATION_BATCH_FROM
        ? await Promise.all(writes.map((w) => this.client.guardedWrite('write registration results', w)))
        : await writeInChangesets(this.client, 'write registration results', writes);
    const failed = outcomes.find((o): o is Extract<BatchOutcome, { ok: false }> => !o.ok && o.status !== 404);
    if (failed !== undefined) throw toCrmError('write registration results', failed.error, this.client.redact);
    const answered404 = new Set(sent.filter((_, i) => !outcomes[i]!.ok).map((r) => r.deviceRecordId));
    const missing = results.filter((r) => !isGuid(r.deviceRecordId) || answered404.has(r.deviceRecordId)).map((r) => r.deviceRecordId);
    if (missing.length === 0) return ok(undefined);
    const cause = outcomes.find((o): o is Extract<BatchOutcome, { ok: false }> => !o.ok)?.error;
    return err(deviceRecordsNotFound(missing, cause));
  }

  // ---- alerts (dataverse-alerts.ts) ----

  createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert> {
    return this.alerts.createIoTAlert(alert);
  }

  /** Many alerts at once, in `$batch` requests (see `DataverseAlerts.createIoTAlerts`). */
  createIoTAlerts(alerts: readonly NewIoTAlert[], options: { readonly batch?: boolean } = {}): Promise<CreatedIoTAlert[]> {
    return this.alerts.createIoTAlerts(alerts, options);
  }

  getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined> {
    return this.alerts.getIoTAlert(alertId);
  }

  findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]> {
    return this.alerts.findIoTAlertsByToken(alertToken);
  }

  findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]> {
    return this.alerts.findRecentIoTAlerts(deviceId, since);
  }

  updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<IoTAlertUpdate> {
    return this.alerts.updateIoTAlert(alertId, patch);
  }

  listIoTAlerts(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<StoredIoTAlert[]> {
    return this.alerts.listIoTAlerts(query);
  }

  // ---- commands (dataverse-commands.ts) ----

  createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }> {
    return this.commands.createCommand(command);
  }

  getCommand(commandId: string): Promise<CrmCommand | undefined> {
    return this.commands.getCommand(commandId);
  }

  /** Whether the organisation has the Fieldlink extension solution's columns (see `DataverseCommands.hasExtension`). */
  hasExtension(): Promise<boolean> {
    return this.commands.hasExtension();
  }

  updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite> {
    return this.commands.updateCommandStatus(commandId, update, condition);
  }

  listCommands(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<CrmCommand[]> {
    return this.commands.listCommands(query);
  }

  commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]> {
    return this.commands.commandsInState(state, pageSize);
  }

  // ---- cases and work orders ----

  async createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string; readonly created: boolean }> {
    const alertId = recordId('alert', newCase.alertId);
    const [existing] = await this.client.query('cases', ['incidentid'], { filter: eqLookup('msdyn_iotalert', alertId), top: 1 });
    if (existing !== undefined) return { caseId: str(existing['incidentid']), created: false };
    const caseId = deterministicGuid('incident', alertId);
    const data: Row = {
      title: newCase.title,
      ...(newCase.description !== undefined ? { description: newCase.description } : {}),
      ...bind('cases', 'msdyn_iotalert', 'alerts', alertId, false),
    };
    const outcome = await this.client.guardedWrite('create incident', { table: 'cases', id: caseId, data, mode: 'create' });
    this.client.failUnlessExists('create incident', outcome);
    if (newCase.customerAssetId !== undefined) {
      // A case has no asset lookup in a stock organisation: it is the msdyn_incident_msdyn_customerasset many-to-many.
      const assetId = recordId('customer asset', newCase.customerAssetId);
      await this.client.exec('associate msdyn_incident_msdyn_customerasset', (signal) =>
        this.client.api.associate({
          collection: Tables.cases.set,
          primaryKey: caseId,
          relationshipName: CASE_ASSETS_RELATIONSHIP,
          relatedCollection: Tables.customerAssets.set,
          relatedKey: assetId,
          signal,
        }),
      );
    }
    return { caseId, created: outcome.ok };
  }

  async createWorkOrder(workOrder: NewCrmWorkOrder): Promise<{ readonly workOrderId: string; readonly created: boolean }> {
    const alertId = recordId('alert', workOrder.alertId);
    const [existing] = await this.client.query('workOrders', ['msdyn_workorderid'], { filter: eqLookup('msdyn_iotalert', alertId), top: 1 });
    if (existing !== undefined) return { workOrderId: str(existing['msdyn_workorderid']), created: false };
    const workOrderId = deterministicGuid('msdyn_workorder', alertId);
    const data: Row = {
      // The incident type and priority are lookups by name in the stock schema; until they are resolved, the summary carries them.
      msdyn_workordersummary: workOrderSummary(workOrder),
      ...bind('workOrders', 'msdyn_iotalert', 'alerts', alertId, false),
      ...bind('workOrders', 'msdyn_servicerequest', 'cases', workOrder.caseId, false),
      ...bind('workOrders', 'msdyn_customerasset', 'customerAssets', workOrder.customerAssetId, false),
    };
    const outcome = await this.client.guardedWrite('create msdyn_workorder', { table: 'workOrders', id: workOrderId, data, mode: 'create' });
    this.client.failUnlessExists('create msdyn_workorder', outcome);
    return { workOrderId, created: outcome.ok };
  }

  async listCases(query: { readonly alertId?: string } = {}): Promise<CrmCase[]> {
    if (query.alertId !== undefined && !isGuid(query.alertId)) return [];
    const rows = await this.client.query('cases', CaseColumns, {
      ...(query.alertId !== undefined ? { filter: eqLookup('msdyn_iotalert', query.alertId) } : {}),
      orderBy: ['createdon asc'],
      expand: [{ property: CASE_ASSETS_RELATIONSHIP, select: ['msdyn_customerassetid'] }],
    });
    return rows.map((r) => ({
      caseId: str(r['incidentid']),
      title: str(r['title']),
      alertId: str(r['_msdyn_iotalert_value']),
      ...optional('customerAssetId', ((r[CASE_ASSETS_RELATIONSHIP] as Row[] | undefined) ?? [])[0]?.['msdyn_customerassetid']),
      ...optional('description', r['description']),
    }));
  }

  async listWorkOrders(query: { readonly alertId?: string } = {}): Promise<CrmWorkOrder[]> {
    if (query.alertId !== undefined && !isGuid(query.alertId)) return [];
    const rows = await this.client.query('workOrders', WorkOrderColumns, {
      ...(query.alertId !== undefined ? { filter: eqLookup('msdyn_iotalert', query.alertId) } : {}),
      orderBy: ['createdon asc'],
    });
    return rows.map((r) => ({
      workOrderId: str(r['msdyn_workorderid']),
      alertId: str(r['_msdyn_iotalert_value']),
      ...optional('customerAssetId', r['_msdyn_customerasset_value']),
      ...optional('caseId', r['_msdyn_servicerequest_value']),
      summary: str(r['msdyn_workordersummary']),
    }));
  }

  // ---- device data history ----

  /**
   * One `msdyn_iotdevicedatahistory` row, with the columns the CFS Logic App writes for a pulled
   * twin: the hub device id (`msdyn_iothubdeviceid`), the connection state (Boolean), when it was
   * recorded (`msdyn_connectionstateupdatedtime`), the last activity, the reported properties,
   * and `msdyn_status` Enabled (the hub answered with the device's twin).
   */
  async addDeviceDataHistory(entry: DeviceDataHistoryEntry): Promise<void> {
    const data: Row = {
      msdyn_name: entry.deviceId.slice(0, 100),
      msdyn_iothubdeviceid: entry.deviceId,
      msdyn_connectionstate: entry.connectionState === 'Connected',
      msdyn_connectionstateupdatedtime: toDataverseDateTime(entry.recordedOn),
      msdyn_lastactivitytime: entry.lastActivityTime === undefined ? null : toDataverseDateTime(entry.lastActivityTime),
      msdyn_devicereportedproperties: entry.reportedProperties,
      msdyn_status: DEVICE_DATA_STATUS_ENABLED,
    };
    const withDevice = { ...data, ...bind('deviceData', 'msdyn_device', 'devices', entry.deviceRecordId, false) };
    const id = randomUUID();
    let outcome = await this.client.guardedWrite('create msdyn_iotdevicedatahistory', { table: 'deviceData', id, data: withDevice, mode: 'create' });
    if (!outcome.ok && outcome.status === 404 && entry.deviceRecordId !== undefined) {
      // The device record is gone (or was never in this CRM): keep the pulled data under its hub id rather than lose it.
      this.client.log.warn('dynamics.device-data-without-device-record', { deviceId: entry.deviceId, deviceRecordId: entry.deviceRecordId });
      outcome = await this.client.guardedWrite('create msdyn_iotdevicedatahistory', { table: 'deviceData', id, data, mode: 'create' });
    }
    this.client.failUnlessExists('create msdyn_iotdevicedatahistory', outcome);
  }

  async listDeviceDataHistory(deviceId: string): Promise<DeviceDataHistoryEntry[]> {
    const rows = await this.client.query('deviceData', DeviceDataColumns, {
      filter: eqString('msdyn_iothubdeviceid', deviceId),
      orderBy: ['msdyn_connectionstateupdatedtime desc', 'createdon desc'],
    });
    return rows
      .filter((r) => r['msdyn_iothubdeviceid'] === deviceId)
      .map((r) => ({
        deviceId: str(r['msdyn_iothubdeviceid']),
        ...optional('deviceRecordId', r['_msdyn_device_value']),
        connectionState: r['msdyn_connectionstate'] === true ? ('Connected' as const) : ('Disconnected' as const),
        ...(r['msdyn_lastactivitytime'] != null ? { lastActivityTime: epochOf(r['msdyn_lastactivitytime']) } : {}),
        reportedProperties: str(r['msdyn_devicereportedproperties']),
        recordedOn: epochOf(r['msdyn_connectionstateupdatedtime']),
      }));
  }

  // ---- the CFS actions (flows 13, 16′): the CRM side starts registration and data pulls ----

  /** Calls the unbound action `msdyn_RegisterIoTDevice` for these device records. */
  async registerDevices(deviceRecordIds: readonly string[]): Promise<void> {
    const ids = deviceRecordIds.map((id) => recordId('device', id));
    await this.client.exec('msdyn_RegisterIoTDevice', (signal) =>
      this.client.api.callAction({ actionName: 'msdyn_RegisterIoTDevice', action: { IoTDeviceIds: ids.join(',') }, signal }),
    );
  }

  /** Calls the unbound action `msdyn_PullDataForIoTDevice` for these device records. */
  async pullDeviceData(deviceRecordIds: readonly string[]): Promise<void> {
    const ids = deviceRecordIds.map((id) => recordId('device', id));
    await this.client.exec('msdyn_PullDataForIoTDevice', (signal) =>
      this.client.api.callAction({ actionName: 'msdyn_PullDataForIoTDevice', action: { IoTDeviceIds: ids.join(',') }, signal }),
    );
  }

  // ---- IoT settings (msdyn_iotsettings) ----

  /** The command property names of the organisation's active IoT settings record; CFS's defaults when absent or empty. */
  async getIoTSettings(): Promise<CrmIoTSettings> {
    const response = await this.client.exec('retrieve msdyn_iotsettingses', (signal) =>
      this.client.api.retrieveMultiple<Row>({
        collection: 'msdyn_iotsettingses',
        select: ['msdyn_commandnameproperty', 'msdyn_commandparametersproperty'],
        filter: 'statecode eq 0',
        top: 1,
        signal,
      }),
    );
    const row = response.value[0];
    const pick = (value: unknown, fallback: string): string => (typeof value === 'string' && value.trim() !== '' ? value : fallback);
    return {
      commandNameProperty: pick(row?.['msdyn_commandnameproperty'], DEFAULT_IOT_SETTINGS.commandNameProperty),
      commandParametersProperty: pick(row?.['msdyn_commandparametersproperty'], DEFAULT_IOT_SETTINGS.commandParametersProperty),
    };
  }
}
