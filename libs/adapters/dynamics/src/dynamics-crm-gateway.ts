import { randomUUID } from 'node:crypto';
import type { AccessToken as AzureAccessToken, TokenCredential } from '@azure/identity';
import { ALERT_DESCRIPTION_MAX, AlertState as AlertStateValue, cfsStatusOf, AlertStatus as AlertStatusValue, AlertType as AlertTypeValue, COMMAND_MESSAGE_MAX, err, ok, truncateWithEllipsis, type AlertState, type AlertStatus, type AlertType, type CfsCommandStatus, type CommandState, type RegistrationStatus } from '@fieldlink/domain';
import {
  CrmError,
  DEFAULT_IOT_SETTINGS,
  silentLog,
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
  type LogPort,
  type NewCrmCase,
  type NewCrmCommand,
  type NewCrmWorkOrder,
  type NewIoTAlert,
  type RegistrationResult,
  type StoredIoTAlert,
} from '@fieldlink/ports';
import { DynamicsWebApi } from 'dynamics-web-api';
import { cutAlertData, fitAlertData } from './alert-data-overflow.js';
import {
  ALERT_DATA_NOTE_SUBJECT,
  AlertColumns,
  CASE_ASSETS_RELATIONSHIP,
  CaseColumns,
  CATEGORY_COMMANDS_RELATIONSHIP,
  COMMAND_PARAMETERS_RELATIONSHIP,
  CommandColumns,
  DEVICE_DATA_STATUS_ENABLED,
  DeviceColumns,
  DeviceDataColumns,
  ExtensionColumns,
  Navigation,
  Tables,
  WorkOrderColumns,
  type TableName,
} from './cfs-tables.js';
import { decodeCommandStatusReason, encodeCommandStatusReason } from './command-status-reason.js';
import { classifyAttempt, httpStatusOf, redactor, RequestTimedOut, toCrmError, TokenUnavailable } from './dataverse-error.js';
import { deterministicGuid } from './deterministic-id.js';
import { checkSettings, credentialOf, scopeOf, type DynamicsSettings } from './dynamics-settings.js';
import { eqLookup, eqString, isGuid, odataDateTime, odataGuid, toDataverseDateTime } from './odata-literal.js';
import { defaultServiceProtection, ServiceProtectionGate, type Timing, realTiming } from './service-protection.js';

type Row = Record<string, unknown>;

/**
 * From this many registration results on, they are written in `$batch` requests. One result (the
 * console's Register button, a single CFS registration) is a plain PATCH: one request instead of a
 * multipart one with a random boundary, which a contract test or a proxy log can read and match.
 */
export const REGISTRATION_BATCH_FROM = 2;

/** Reads and conditional PATCHes of one command status write before a row that keeps changing counts as contention. */
const CONDITIONAL_WRITE_ATTEMPTS = 5;

/** One write of a bulk request, and what became of it. */
interface BatchWrite {
  readonly table: TableName;
  readonly id: string;
  readonly data: Row;
  /** `create`: only if absent (If-None-Match: *); `update`: only if present (If-Match: *). */
  readonly mode: 'create' | 'update';
}

type BatchOutcome = { readonly ok: true } | { readonly ok: false; readonly status: number | undefined; readonly error: unknown };

export interface DynamicsCrmGatewayOptions {
  readonly log?: LogPort;
  /** Clock, sleep and randomness of the retry gate; the real ones unless a test replaces them. */
  readonly timing?: Timing;
}

/**
 * The CRM gateway on Dataverse's Web API through dynamics-web-api. Every request passes one
 * service-protection gate (concurrency cap, shared Retry-After pause, back-off with jitter), every
 * create is a guarded upsert under an id the adapter chose (so a retry or a redelivery never
 * makes a second record), and every value inside a filter is an escaped literal.
 */
export class DynamicsCrmGateway implements CrmGatewayPort {
  readonly gate: ServiceProtectionGate;
  private readonly api: DynamicsWebApi;
  private readonly log: LogPort;
  private readonly redact: (text: string) => string;
  private readonly timeoutMs: number;
  private readonly batchSize: number;
  private readonly credential: TokenCredential | undefined;
  private token: AzureAccessToken | undefined;
  private pendingToken: Promise<AzureAccessToken> | undefined;

  constructor(
    private readonly settings: DynamicsSettings,
    options: DynamicsCrmGatewayOptions = {},
  ) {
    const problems = checkSettings(settings);
    if (problems.length > 0) throw new CrmError('Rejected', `Dynamics settings refused: ${problems.join('; ')}`);
    this.log = options.log ?? silentLog;
    this.credential = credentialOf(settings);
    this.redact = redactor(() => [settings.clientSecret?.secret, this.token?.token]);
    this.timeoutMs = settings.requestTimeoutMs ?? 30_000;
    this.batchSize = settings.batchSize ?? 10;
    this.gate = new ServiceProtectionGate({ ...defaultServiceProtection, ...settings.serviceProtection }, options.timing ?? realTiming);
    this.api = new DynamicsWebApi({
      serverUrl: settings.organizationUrl,
      dataApi: { version: settings.webApiVersion ?? '9.2' },
      propagateErrors: true,
      ...(this.credential !== undefined ? { onTokenRefresh: () => this.accessToken() } : {}),
    });
  }

  // ---- devices and customer assets ----

  async upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void> {
    const id = this.recordId('customer asset', asset.customerAssetId);
    await this.exec('upsert msdyn_customerasset', (signal) => this.api.upsert({ collection: Tables.customerAssets.set, key: id, data: { msdyn_name: asset.name }, signal }));
  }

  async getCustomerAsset(customerAssetId: string): Promise<CrmCustomerAsset | undefined> {
    const row = await this.retrieve('customerAssets', customerAssetId, ['msdyn_customerassetid', 'msdyn_name']);
    return row === undefined ? undefined : { customerAssetId: str(row['msdyn_customerassetid']), name: str(row['msdyn_name']) };
  }

  /**
   * The device record, its category (the device type: `msdyn_category`, the category found by
   * name or made under an id derived from the name) and its customer asset: in a stock
   * organisation the asset names its connected device in its own `msdyn_deviceid`, so the asset
   * given is written with this device's hub id (the device has no lookup to an asset).
   */
  async upsertDevice(device: CrmDevice): Promise<void> {
    const id = this.recordId('device', device.deviceRecordId);
    const categoryId = device.deviceType === '' ? undefined : await this.categoryIdOf(device.deviceType);
    const data: Row = {
      msdyn_name: device.name,
      msdyn_deviceid: device.deviceId,
      msdyn_tags: device.tags === undefined ? null : JSON.stringify(device.tags),
      msdyn_devicesettings: device.settings === undefined ? null : JSON.stringify(device.settings),
      msdyn_registrationstatus: device.registrationStatus,
      msdyn_registrationmessage: device.registrationMessage ?? null,
      ...this.bind('devices', 'msdyn_category', 'deviceCategories', categoryId, true),
    };
    await this.exec('upsert msdyn_iotdevice', (signal) => this.api.upsert({ collection: Tables.devices.set, key: id, data, signal }));
    if (device.customerAssetId !== undefined) {
      const assetId = this.recordId('customer asset', device.customerAssetId);
      // Another asset that named this device no longer does: a device has one asset here.
      for (const other of await this.assetsOfDevice(device.deviceId)) {
        if (other !== assetId) await this.exec('update msdyn_customerasset', (signal) => this.api.update({ collection: Tables.customerAssets.set, key: other, data: { msdyn_deviceid: null }, ifmatch: '*', signal }));
      }
      await this.exec('update msdyn_customerasset', (signal) => this.api.update({ collection: Tables.customerAssets.set, key: assetId, data: { msdyn_deviceid: device.deviceId }, ifmatch: '*', signal }));
    }
  }

  async getDevice(deviceRecordId: string): Promise<CrmDevice | undefined> {
    const row = await this.retrieve('devices', deviceRecordId, DeviceColumns);
    return row === undefined ? undefined : this.toDevice(row);
  }

  async findDeviceByHubId(deviceId: string): Promise<CrmDevice | undefined> {
    const rows = await this.query('devices', DeviceColumns, { filter: eqString('msdyn_deviceid', deviceId), top: 2 });
    // The filter compares case-insensitively in Dataverse; hub ids are case-sensitive.
    const row = rows.find((r) => r['msdyn_deviceid'] === deviceId);
    return row === undefined ? undefined : this.toDevice(row);
  }

  async listDevices(): Promise<CrmDevice[]> {
    const [rows, assets, categories] = await Promise.all([
      this.query('devices', DeviceColumns, { orderBy: ['msdyn_name asc'] }),
      this.query('customerAssets', ['msdyn_customerassetid', 'msdyn_deviceid'], { filter: 'msdyn_deviceid ne null' }),
      this.categoryNames(),
    ]);
    const assetByDevice = new Map<string, string>();
    for (const a of assets) if (!assetByDevice.has(str(a['msdyn_deviceid']))) assetByDevice.set(str(a['msdyn_deviceid']), str(a['msdyn_customerassetid']));
    return rows.map((r) => toDevice(r, categories.get(str(r['_msdyn_category_value'])) ?? '', assetByDevice.get(str(r['msdyn_deviceid']))));
  }

  // ---- device categories ----

  /**
   * Every msdyn_iotdevicecategory with its commands (the category ↔ command definition
   * many-to-many, each command's parameters from the command ↔ property definition one) and its
   * readings: the property definitions the category's visualization configurations chart
   * (`msdyn_measurement`), which is where a stock organisation ties readings to a category.
   */
  async listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    const [categories, definitions, visualizations, properties] = await Promise.all([
      this.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], {
        orderBy: ['msdyn_name asc'],
        expand: [{ property: CATEGORY_COMMANDS_RELATIONSHIP, select: ['msdyn_iotdevicecommanddefinitionid'] }],
      }),
      this.query('commandDefinitions', ['msdyn_iotdevicecommanddefinitionid', 'msdyn_name'], { expand: [{ property: COMMAND_PARAMETERS_RELATIONSHIP, select: ['msdyn_name'] }] }),
      this.query('visualizations', ['_msdyn_iotdevicecategory_value', '_msdyn_measurement_value'], { filter: '_msdyn_iotdevicecategory_value ne null' }),
      this.query('propertyDefinitions', ['msdyn_iotpropertydefinitionid', 'msdyn_name'], {}),
    ]);
    const propertyName = new Map(properties.map((p) => [str(p['msdyn_iotpropertydefinitionid']), str(p['msdyn_name'])]));
    const commandOf = new Map(
      definitions.map((d) => [
        str(d['msdyn_iotdevicecommanddefinitionid']),
        { name: str(d['msdyn_name']), parameters: ((d[COMMAND_PARAMETERS_RELATIONSHIP] as Row[] | undefined) ?? []).map((p) => str(p['msdyn_name'])).sort() },
      ]),
    );
    return categories.map((c) => {
      const id = str(c['msdyn_iotdevicecategoryid']);
      const readings = [...new Set(visualizations.filter((v) => str(v['_msdyn_iotdevicecategory_value']) === id).flatMap((v) => propertyName.get(str(v['_msdyn_measurement_value'])) ?? []))].sort();
      const commands = ((c[CATEGORY_COMMANDS_RELATIONSHIP] as Row[] | undefined) ?? [])
        .flatMap((d) => commandOf.get(str(d['msdyn_iotdevicecommanddefinitionid'])) ?? [])
        .sort((x, y) => x.name.localeCompare(y.name));
      return { categoryId: id, name: str(c['msdyn_name']), readings, commands };
    });
  }
  /** The category of this name (exact match), or one made under an id derived from the name, so two writers make one. */
  private async categoryIdOf(name: string): Promise<string> {
    const known = this.categoryIds.get(name);
    if (known !== undefined) return known;
    const rows = await this.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], { filter: eqString('msdyn_name', name) });
    const found = rows.find((r) => r['msdyn_name'] === name);
    let id: string;
    if (found !== undefined) id = str(found['msdyn_iotdevicecategoryid']);
    else {
      id = deterministicGuid('msdyn_iotdevicecategory', name);
      const outcome = await this.guardedWrite('create msdyn_iotdevicecategory', { table: 'deviceCategories', id, data: { msdyn_name: name }, mode: 'create' });
      if (!outcome.ok && outcome.status !== 412) throw toCrmError('create msdyn_iotdevicecategory', outcome.error, this.redact);
    }
    this.categoryIds.set(name, id);
    return id;
  }

  private readonly categoryIds = new Map<string, string>();

  private async categoryNames(): Promise<Map<string, string>> {
    const rows = await this.query('deviceCategories', ['msdyn_iotdevicecategoryid', 'msdyn_name'], {});
    return new Map(rows.map((r) => [str(r['msdyn_iotdevicecategoryid']), str(r['msdyn_name'])]));
  }

  /** Ids of the customer assets whose msdyn_deviceid is this hub id (exactly). */
  private async assetsOfDevice(deviceId: string): Promise<string[]> {
    const rows = await this.query('customerAssets', ['msdyn_customerassetid', 'msdyn_deviceid'], { filter: eqString('msdyn_deviceid', deviceId) });
    return rows.filter((r) => r['msdyn_deviceid'] === deviceId).map((r) => str(r['msdyn_customerassetid']));
  }

  private async toDevice(row: Row): Promise<CrmDevice> {
    const categoryId = str(row['_msdyn_category_value']);
    const [category, assets] = await Promise.all([
      categoryId === '' ? Promise.resolve(undefined) : this.retrieve('deviceCategories', categoryId, ['msdyn_name']),
      this.assetsOfDevice(str(row['msdyn_deviceid'])),
    ]);
    return toDevice(row, category === undefined ? '' : str(category['msdyn_name']), assets[0]);
  }

  /**
   * Each result is an update of its device (`If-Match: *`, so a missing device is never created).
   * Fewer than `REGISTRATION_BATCH_FROM` results go as plain PATCH requests, the others in `$batch`
   * requests of small changesets; a device that does not exist fails with NotFound after all
   * others are written.
   */
  async writeRegistrationResults(results: readonly RegistrationResult[]): Promise<void> {
    const writes: BatchWrite[] = results.map((r) => ({
      table: 'devices',
      id: this.recordId('device', r.deviceRecordId),
      mode: 'update',
      data: { msdyn_deviceid: r.deviceId, msdyn_registrationstatus: r.status, msdyn_registrationmessage: r.message },
    }));
    const outcomes =
      writes.length < REGISTRATION_BATCH_FROM
        ? await Promise.all(writes.map((w) => this.guardedWrite('write registration results', w)))
        : await this.writeInChangesets('write registration results', writes);
    const missing = writes.filter((_, i) => !outcomes[i]!.ok && (outcomes[i] as { status?: number }).status === 404).map((w) => w.id);
    const failed = outcomes.find((o): o is Extract<BatchOutcome, { ok: false }> => !o.ok && o.status !== 404);
    if (failed !== undefined) throw toCrmError('write registration results', failed.error, this.redact);
    if (missing.length > 0) throw new CrmError('NotFound', `write registration results failed: no msdyn_iotdevice with id ${missing.join(', ')}`);
  }

  // ---- alerts ----

  async createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert> {
    const [result] = await this.createIoTAlerts([alert], { batch: false });
    return result!;
  }

  /**
   * Many alerts at once (a whole alerts-queue message, a replay): the existing ones are found with
   * one query per chunk, the others created by guarded upserts in one `$batch` per chunk, each
   * operation on its own, so one duplicate does not roll the others back. `batch: false` sends
   * one request per alert instead (the baseline of the benchmark).
   */
  async createIoTAlerts(alerts: readonly NewIoTAlert[], options: { readonly batch?: boolean } = {}): Promise<CreatedIoTAlert[]> {
    const batch = options.batch ?? true;
    const results: CreatedIoTAlert[] = new Array(alerts.length);
    const chunks = batch ? chunk([...alerts.keys()], this.batchSize) : alerts.map((_, i) => [i]);
    await Promise.all(chunks.map(async (indexes) => {
      const chunkAlerts = indexes.map((i) => alerts[i]!);
      // An alert with its own id is created under it (a second create answers 412); one without is found by its token.
      const byToken = chunkAlerts.filter((a) => a.alertId === undefined);
      const existing = byToken.length === 0 ? new Map<string, string>() : await this.alertIdsByToken(byToken.map((a) => a.alertToken));
      const writes: Array<{ index: number; write: BatchWrite; note?: BatchWrite }> = [];
      for (const index of indexes) {
        const alert = alerts[index]!;
        const found = alert.alertId === undefined ? existing.get(alert.alertToken) : undefined;
        if (found !== undefined) {
          results[index] = { alertId: found, created: false };
          continue;
        }
        const alertId = alert.alertId === undefined ? deterministicGuid('msdyn_iotalert', alert.alertToken) : this.recordId('msdyn_iotalert', alert.alertId);
        const { data, overflow } = this.alertRecord(alert);
        writes.push({ index, write: { table: 'alerts', id: alertId, data, mode: 'create' }, ...(overflow !== undefined ? { note: this.alertDataNote(alertId, overflow) } : {}) });
      }
      if (writes.length === 0) return;
      const outcomes = batch && writes.length > 1 ? await this.writeIndependently('create msdyn_iotalert', writes.map((w) => w.write)) : await Promise.all(writes.map((w) => this.guardedWrite('create msdyn_iotalert', w.write)));
      for (const [i, w] of writes.entries()) {
        const outcome = outcomes[i]!;
        if (!outcome.ok && outcome.status !== 412) throw toCrmError('create msdyn_iotalert', outcome.error, this.redact);
        results[w.index] = { alertId: w.write.id, created: outcome.ok };
      }
      // The note is written after its alert (it binds to it), and again on a redelivery in case the first try stopped in between.
      const notes = writes.filter((w) => w.note !== undefined).map((w) => w.note!);
      for (const outcome of await Promise.all(notes.map((n) => this.guardedWrite('create annotation', n)))) {
        if (!outcome.ok && outcome.status !== 412) throw toCrmError('create annotation', outcome.error, this.redact);
      }
      for (const w of writes.filter((x) => x.note !== undefined)) {
        this.log.warn('dynamics.alert-data-kept-in-note', { alertId: w.write.id, length: w.note!.data['notetext'] !== undefined ? String(w.note!.data['notetext']).length : 0 });
      }
    }));
    return results;
  }

  async getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined> {
    const row = await this.retrieve('alerts', alertId, AlertColumns);
    return row === undefined ? undefined : this.withWholeAlertData(toAlert(row));
  }

  async findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]> {
    const rows = await this.query('alerts', AlertColumns, { filter: eqString('msdyn_alerttoken', alertToken), orderBy: ['createdon asc'] });
    // Dataverse compares strings case-insensitively; tokens are matched exactly here.
    return Promise.all(rows.filter((r) => r['msdyn_alerttoken'] === alertToken).map((r) => this.withWholeAlertData(toAlert(r))));
  }

  async findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]> {
    const rows = await this.query('alerts', AlertColumns, {
      filter: `${eqString('msdyn_deviceid', deviceId)} and msdyn_alerttime ge ${odataDateTime(since)}`,
      orderBy: ['msdyn_alerttime desc', 'createdon desc'],
    });
    return Promise.all(rows.filter((r) => r['msdyn_deviceid'] === deviceId && toAlert(r).alertTime >= since).map((r) => this.withWholeAlertData(toAlert(r))));
  }

  async updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<void> {
    const id = this.recordIdOrNotFound('msdyn_iotalert', alertId);
    const data: Row = {
      ...(patch.state !== undefined ? { statecode: patch.state } : {}),
      ...(patch.status !== undefined ? { statuscode: patch.status } : {}),
      ...this.bind('alerts', 'msdyn_parentalert', 'alerts', patch.parentAlertId, false),
      ...this.bind('alerts', 'msdyn_case', 'cases', patch.caseId, false),
      ...this.bind('alerts', 'msdyn_lastcommandsent', 'commands', patch.lastCommandId, false),
    };
    if (Object.keys(data).length === 0) return;
    await this.exec('update msdyn_iotalert', (signal) => this.api.update({ collection: Tables.alerts.set, key: id, data, ifmatch: '*', signal }));
  }

  async listIoTAlerts(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<StoredIoTAlert[]> {
    const rows = await this.query('alerts', AlertColumns, {
      ...(query.deviceId !== undefined ? { filter: eqString('msdyn_deviceid', query.deviceId) } : {}),
      orderBy: ['msdyn_alerttime desc', 'createdon desc'],
      ...(query.top !== undefined ? { top: query.top } : {}),
    });
    return Promise.all(rows.filter((r) => query.deviceId === undefined || r['msdyn_deviceid'] === query.deviceId).map((r) => this.withWholeAlertData(toAlert(r))));
  }

  // ---- commands ----

  async createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }> {
    if (command.message.length > COMMAND_MESSAGE_MAX) {
      throw new CrmError('Rejected', `create msdyn_iotdevicecommand refused: msdyn_message holds at most ${COMMAND_MESSAGE_MAX} characters, the message has ${command.message.length}`);
    }
    // An id chosen here makes the create safe to retry even when the caller gave none.
    const commandId = command.commandId !== undefined ? this.recordId('command', command.commandId) : randomUUID();
    const data: Row = {
      msdyn_name: command.name,
      msdyn_message: command.message,
      msdyn_deviceid: command.deviceId,
      msdyn_sendtoallconnecteddevices: command.sendToAllConnectedDevices ?? false,
      msdyn_commandstatus: 192350000,
      ...((await this.hasExtension()) ? { [ExtensionColumns.commandState.column]: 'requested' } : {}),
      ...this.bind('commands', 'msdyn_device', 'devices', command.deviceRecordId, false),
      ...this.bind('commands', 'msdyn_customerasset', 'customerAssets', command.customerAssetId, false),
      ...this.bind('commands', 'msdyn_parentalert', 'alerts', command.parentAlertId, false),
    };
    const outcome = await this.guardedWrite('create msdyn_iotdevicecommand', { table: 'commands', id: commandId, data, mode: 'create' });
    if (!outcome.ok && outcome.status !== 412) throw toCrmError('create msdyn_iotdevicecommand', outcome.error, this.redact);
    return { commandId, created: outcome.ok };
  }

  async getCommand(commandId: string): Promise<CrmCommand | undefined> {
    const row = await this.retrieve('commands', commandId, await this.commandColumns());
    return row === undefined ? undefined : toCommand(row);
  }

  /**
   * Whether the organisation has the Fieldlink extension solution's columns: one read of
   * `EntityDefinitions(LogicalName='msdyn_iotdevicecommand')/Attributes`, on first need. Without
   * them every write keeps to stock columns (the command state in msdyn_commandstatusreason).
   */
  hasExtension(): Promise<boolean> {
    if (this.settings.extension === 'never') return Promise.resolve(false);
    this.extension ??= this.exec('retrieve EntityDefinitions', (signal) =>
      this.api.retrieveAttributes<Row>({ entityKey: `LogicalName='${ExtensionColumns.commandState.entity}'`, select: ['LogicalName'], filter: eqString('LogicalName', ExtensionColumns.commandState.column), signal }),
    ).then(
      (response) => {
        const found = response.value.some((a) => a['LogicalName'] === ExtensionColumns.commandState.column);
        this.log.info('dynamics.extension-discovered', { extension: found });
        return found;
      },
      (error: unknown) => {
        this.extension = undefined;
        throw error;
      },
    );
    return this.extension;
  }

  private extension: Promise<boolean> | undefined;

  private async commandColumns(): Promise<string[]> {
    return (await this.hasExtension()) ? [...CommandColumns, ExtensionColumns.commandState.column] : CommandColumns;
  }

  /**
   * Unconditional: a PATCH with `If-Match: *` (only if the row exists). Conditional: Dataverse's
   * optimistic concurrency. The state is read with the row's `@odata.etag` and the PATCH carries
   * it in `If-Match`, so Dataverse refuses it (412) when anything wrote the row since; the row is
   * then read again and decided anew, since a 412 may also come from a write that left the state
   * alone (a reason, a lookup).
   */
  async updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite> {
    const id = this.recordIdOrNotFound('msdyn_iotdevicecommand', commandId);
    const extension = await this.hasExtension();
    const data: Row = {
      msdyn_commandstatus: update.cfsStatus,
      msdyn_commandstatusreason: encodeCommandStatusReason(update.state, update.statusReason),
      ...(extension ? { [ExtensionColumns.commandState.column]: update.state } : {}),
    };
    const operation = 'update msdyn_iotdevicecommand';
    if (condition === undefined) {
      await this.exec(operation, (signal) => this.api.update({ collection: Tables.commands.set, key: id, data, ifmatch: '*', signal }));
      return ok(undefined);
    }
    for (let attempt = 1; attempt <= CONDITIONAL_WRITE_ATTEMPTS; attempt++) {
      const row = await this.retrieve('commands', commandId, extension ? ['msdyn_commandstatus', 'msdyn_commandstatusreason', ExtensionColumns.commandState.column] : ['msdyn_commandstatus', 'msdyn_commandstatusreason']);
      if (row === undefined) throw new CrmError('NotFound', `no msdyn_iotdevicecommand with id ${JSON.stringify(commandId)}`);
      const found = toCommandStatus(row).state;
      if (found !== condition.ifState) return err({ code: 'StateMoved', commandId, expected: condition.ifState, found });
      const etag = row['@odata.etag'];
      if (typeof etag !== 'string' || etag === '') throw new CrmError('Rejected', `${operation} refused: Dataverse returned no @odata.etag to make the write conditional on`);
      try {
        await this.exec(operation, (signal) => this.api.update({ collection: Tables.commands.set, key: id, data, ifmatch: etag, signal }));
        return ok(undefined);
      } catch (error) {
        if (!(error instanceof CrmError && this.lastStatus.get(error) === 412)) throw error;
      }
    }
    throw new CrmError('Transient', `${operation} failed: the row changed under each of ${CONDITIONAL_WRITE_ATTEMPTS} conditional writes`);
  }

  async listCommands(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<CrmCommand[]> {
    const rows = await this.query('commands', await this.commandColumns(), {
      ...(query.deviceId !== undefined ? { filter: eqString('msdyn_deviceid', query.deviceId) } : {}),
      orderBy: ['createdon desc'],
      ...(query.top !== undefined ? { top: query.top } : {}),
    });
    return rows.filter((r) => query.deviceId === undefined || r['msdyn_deviceid'] === query.deviceId).map(toCommand);
  }

  /**
   * Keyed paging on (createdon, id), oldest first: each page asks for the rows after the last one
   * handed out, so rows that leave the state meanwhile shift nothing, and rows sharing a createdon
   * second are all reached. On a stock organisation the server narrows by the CFS status the state
   * implies (`msdyn_commandstatus`) and the state itself is read from `msdyn_commandstatusreason`
   * here (no text filter on it: `[` is a wildcard to the SQL behind `startswith`); with the
   * extension solution the server filters on its column.
   */
  async *commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]> {
    const top = Math.max(1, Math.min(5_000, Math.floor(pageSize)));
    const extension = await this.hasExtension();
    const inState = extension ? eqString(ExtensionColumns.commandState.column, state) : `msdyn_commandstatus eq ${cfsStatusOf(state)}`;
    const columns = await this.commandColumns();
    let after: { readonly createdOn: string; readonly id: string } | undefined;
    for (;;) {
      const filter =
        after === undefined
          ? inState
          : `${inState} and (createdon gt ${after.createdOn} or (createdon eq ${after.createdOn} and msdyn_iotdevicecommandid gt ${odataGuid(after.id)}))`;
      const rows = await this.query('commands', columns, { filter, orderBy: ['createdon asc', 'msdyn_iotdevicecommandid asc'], top });
      const page = rows.slice(0, top);
      if (page.length === 0) return;
      const last = page.at(-1)!;
      after = { createdOn: odataDateTime(epochOf(last['createdon'])), id: str(last['msdyn_iotdevicecommandid']) };
      const commands = page.map(toCommand).filter((c) => c.state === state);
      if (commands.length > 0) yield commands;
      if (page.length < top) return;
    }
  }

  // ---- cases and work orders ----

  async createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string; readonly created: boolean }> {
    const alertId = this.recordId('alert', newCase.alertId);
    const [existing] = await this.query('cases', ['incidentid'], { filter: eqLookup('msdyn_iotalert', alertId), top: 1 });
    if (existing !== undefined) return { caseId: str(existing['incidentid']), created: false };
    const caseId = deterministicGuid('incident', alertId);
    const data: Row = {
      title: newCase.title,
      ...(newCase.description !== undefined ? { description: newCase.description } : {}),
      ...this.bind('cases', 'msdyn_iotalert', 'alerts', alertId, false),
    };
    const outcome = await this.guardedWrite('create incident', { table: 'cases', id: caseId, data, mode: 'create' });
    if (!outcome.ok && outcome.status !== 412) throw toCrmError('create incident', outcome.error, this.redact);
    if (newCase.customerAssetId !== undefined) {
      // A case has no asset lookup in a stock organisation: it is the msdyn_incident_msdyn_customerasset many-to-many.
      const assetId = this.recordId('customer asset', newCase.customerAssetId);
      await this.exec('associate msdyn_incident_msdyn_customerasset', (signal) =>
        this.api.associate({ collection: Tables.cases.set, primaryKey: caseId, relationshipName: CASE_ASSETS_RELATIONSHIP, relatedCollection: Tables.customerAssets.set, relatedKey: assetId, signal }),
      );
    }
    return { caseId, created: outcome.ok };
  }

  async createWorkOrder(workOrder: NewCrmWorkOrder): Promise<{ readonly workOrderId: string; readonly created: boolean }> {
    const alertId = this.recordId('alert', workOrder.alertId);
    const [existing] = await this.query('workOrders', ['msdyn_workorderid'], { filter: eqLookup('msdyn_iotalert', alertId), top: 1 });
    if (existing !== undefined) return { workOrderId: str(existing['msdyn_workorderid']), created: false };
    const workOrderId = deterministicGuid('msdyn_workorder', alertId);
    const data: Row = {
      // The incident type and priority are lookups by name in the stock schema; until they are resolved, the summary carries them.
      msdyn_workordersummary: workOrderSummary(workOrder),
      ...this.bind('workOrders', 'msdyn_iotalert', 'alerts', alertId, false),
      ...this.bind('workOrders', 'msdyn_servicerequest', 'cases', workOrder.caseId, false),
      ...this.bind('workOrders', 'msdyn_customerasset', 'customerAssets', workOrder.customerAssetId, false),
    };
    const outcome = await this.guardedWrite('create msdyn_workorder', { table: 'workOrders', id: workOrderId, data, mode: 'create' });
    if (!outcome.ok && outcome.status !== 412) throw toCrmError('create msdyn_workorder', outcome.error, this.redact);
    return { workOrderId, created: outcome.ok };
  }

  async listCases(query: { readonly alertId?: string } = {}): Promise<CrmCase[]> {
    if (query.alertId !== undefined && !isGuid(query.alertId)) return [];
    const rows = await this.query('cases', CaseColumns, {
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
    const rows = await this.query('workOrders', WorkOrderColumns, { ...(query.alertId !== undefined ? { filter: eqLookup('msdyn_iotalert', query.alertId) } : {}), orderBy: ['createdon asc'] });
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
    const withDevice = { ...data, ...this.bind('deviceData', 'msdyn_device', 'devices', entry.deviceRecordId, false) };
    const id = randomUUID();
    let outcome = await this.guardedWrite('create msdyn_iotdevicedatahistory', { table: 'deviceData', id, data: withDevice, mode: 'create' });
    if (!outcome.ok && outcome.status === 404 && entry.deviceRecordId !== undefined) {
      // The device record is gone (or was never in this CRM): keep the pulled data under its hub id rather than lose it.
      this.log.warn('dynamics.device-data-without-device-record', { deviceId: entry.deviceId, deviceRecordId: entry.deviceRecordId });
      outcome = await this.guardedWrite('create msdyn_iotdevicedatahistory', { table: 'deviceData', id, data, mode: 'create' });
    }
    if (!outcome.ok && outcome.status !== 412) throw toCrmError('create msdyn_iotdevicedatahistory', outcome.error, this.redact);
  }

  async listDeviceDataHistory(deviceId: string): Promise<DeviceDataHistoryEntry[]> {
    const rows = await this.query('deviceData', DeviceDataColumns, { filter: eqString('msdyn_iothubdeviceid', deviceId), orderBy: ['msdyn_connectionstateupdatedtime desc', 'createdon desc'] });
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
    const ids = deviceRecordIds.map((id) => this.recordId('device', id));
    await this.exec('msdyn_RegisterIoTDevice', (signal) => this.api.callAction({ actionName: 'msdyn_RegisterIoTDevice', action: { IoTDeviceIds: ids.join(',') }, signal }));
  }

  /** Calls the unbound action `msdyn_PullDataForIoTDevice` for these device records. */
  async pullDeviceData(deviceRecordIds: readonly string[]): Promise<void> {
    const ids = deviceRecordIds.map((id) => this.recordId('device', id));
    await this.exec('msdyn_PullDataForIoTDevice', (signal) => this.api.callAction({ actionName: 'msdyn_PullDataForIoTDevice', action: { IoTDeviceIds: ids.join(',') }, signal }));
  }

  // ---- plumbing ----

  private alertRecord(alert: NewIoTAlert): { data: Row; overflow: string | undefined } {
    const description = truncateWithEllipsis(alert.description, ALERT_DESCRIPTION_MAX);
    if (description !== alert.description) this.log.warn('dynamics.alert-description-truncated', { alertToken: alert.alertToken, length: alert.description.length });
    const fitted = fitAlertData(alert.alertData);
    const data: Row = {
      msdyn_alerttoken: alert.alertToken,
      msdyn_deviceid: alert.deviceId,
      msdyn_description: description,
      msdyn_alertdata: fitted.column,
      msdyn_alerttime: toDataverseDateTime(alert.alertTime),
      msdyn_alerttype: alert.alertType,
      // A new alert is Active / Active in the CRM; other states are written, the default is left to it.
      ...(alert.state !== AlertStateValue.Active || alert.status !== AlertStatusValue.Active ? { statecode: alert.state, statuscode: alert.status } : {}),
      ...this.bind('alerts', 'msdyn_device', 'devices', alert.deviceRecordId, false),
      ...this.bind('alerts', 'msdyn_customerasset', 'customerAssets', alert.customerAssetId, false),
      ...this.bind('alerts', 'msdyn_parentalert', 'alerts', alert.parentAlertId, false),
    };
    return { data, overflow: fitted.overflow };
  }

  private alertDataNote(alertId: string, wholeText: string): BatchWrite {
    return {
      table: 'notes',
      id: deterministicGuid('annotation', alertId),
      mode: 'create',
      data: { subject: ALERT_DATA_NOTE_SUBJECT, notetext: wholeText, objecttypecode: Tables.alerts.entity, [`objectid_${Tables.alerts.entity}@odata.bind`]: `/${Tables.alerts.set}(${alertId})` },
    };
  }

  private async withWholeAlertData(alert: StoredIoTAlert): Promise<StoredIoTAlert> {
    const cut = cutAlertData(alert.alertData);
    if (cut === undefined) return alert;
    const [note] = await this.query('notes', ['notetext'], { filter: `${eqLookup('objectid', alert.alertId)} and ${eqString('subject', ALERT_DATA_NOTE_SUBJECT)}`, top: 1 });
    const whole = note === undefined ? undefined : str(note['notetext']);
    if (whole === undefined || whole.length !== cut.total) {
      this.log.warn('dynamics.alert-data-note-missing', { alertId: alert.alertId });
      return alert;
    }
    return { ...alert, alertData: whole };
  }

  private async alertIdsByToken(tokens: readonly string[]): Promise<Map<string, string>> {
    const filter = tokens.map((t) => eqString('msdyn_alerttoken', t)).join(' or ');
    const rows = await this.query('alerts', ['msdyn_iotalertid', 'msdyn_alerttoken'], { filter });
    const byToken = new Map<string, string>();
    // Dataverse compares strings case-insensitively; tokens are matched exactly here.
    for (const r of rows) if (tokens.includes(str(r['msdyn_alerttoken']))) byToken.set(str(r['msdyn_alerttoken']), str(r['msdyn_iotalertid']));
    return byToken;
  }

  /** `{ "<navigation>@odata.bind": "/set(id)" }` under the lookup's stock navigation name, or a cleared lookup (`null`) when `clear` and no id. */
  private bind<F extends keyof typeof Navigation>(from: F, lookup: keyof (typeof Navigation)[F], to: TableName, id: string | undefined, clear: boolean): Row {
    const nav = Navigation[from][lookup] as string;
    if (id === undefined) return clear ? { [`${nav}@odata.bind`]: null } : {};
    return { [`${nav}@odata.bind`]: `/${Tables[to].set}(${this.recordId(String(lookup), id)})` };
  }

  private recordId(what: string, id: string): string {
    if (!isGuid(id)) throw new CrmError('Rejected', `${what} id must be a GUID, got ${JSON.stringify(id)}`);
    return odataGuid(id);
  }

  private recordIdOrNotFound(entity: string, id: string): string {
    if (!isGuid(id)) throw new CrmError('NotFound', `no ${entity} with id ${JSON.stringify(id)} (not a GUID)`);
    return odataGuid(id);
  }

  // ---- IoT settings (msdyn_iotsettings) ----

  /** The command property names of the organisation's active IoT settings record; CFS's defaults when absent or empty. */
  async getIoTSettings(): Promise<CrmIoTSettings> {
    const response = await this.exec('retrieve msdyn_iotsettingses', (signal) =>
      this.api.retrieveMultiple<Row>({ collection: 'msdyn_iotsettingses', select: ['msdyn_commandnameproperty', 'msdyn_commandparametersproperty'], filter: 'statecode eq 0', top: 1, signal }),
    );
    const row = response.value[0];
    const pick = (value: unknown, fallback: string): string => (typeof value === 'string' && value.trim() !== '' ? value : fallback);
    return {
      commandNameProperty: pick(row?.['msdyn_commandnameproperty'], DEFAULT_IOT_SETTINGS.commandNameProperty),
      commandParametersProperty: pick(row?.['msdyn_commandparametersproperty'], DEFAULT_IOT_SETTINGS.commandParametersProperty),
    };
  }

  private async retrieve(table: TableName, id: string, select: string[]): Promise<Row | undefined> {
    if (!isGuid(id)) return undefined;
    try {
      return await this.exec(`retrieve ${Tables[table].entity}`, (signal) => this.api.retrieve<Row>({ collection: Tables[table].set, key: odataGuid(id), select: [...select], signal }));
    } catch (e) {
      if (e instanceof CrmError && e.code === 'NotFound') return undefined;
      throw e;
    }
  }

  private async query(table: TableName, select: string[], q: { filter?: string; orderBy?: string[]; top?: number; expand?: Array<{ property: string; select: string[] }> }): Promise<Row[]> {
    const rows: Row[] = [];
    let next: string | undefined;
    do {
      const page = next;
      const response = await this.exec(`retrieve ${Tables[table].set}`, (signal) =>
        this.api.retrieveMultiple<Row>(
          {
            collection: Tables[table].set,
            select: [...select],
            ...(q.filter !== undefined ? { filter: q.filter } : {}),
            ...(q.orderBy !== undefined ? { orderBy: [...q.orderBy] } : {}),
            ...(q.top !== undefined ? { top: q.top } : {}),
            ...(q.expand !== undefined ? { expand: q.expand } : {}),
            signal,
          },
          page,
        ),
      );
      rows.push(...response.value);
      next = response.oDataNextLink;
    } while (next !== undefined && (q.top === undefined || rows.length < q.top));
    return rows;
  }

  /** One guarded write as its own request; a 412 (create) or 404 (update) is an outcome, not an error. */
  private async guardedWrite(operation: string, write: BatchWrite): Promise<BatchOutcome> {
    try {
      await this.exec(operation, (signal) =>
        this.api.upsert({ collection: Tables[write.table].set, key: write.id, data: write.data, ...(write.mode === 'create' ? { ifnonematch: '*' } : { ifmatch: '*' }), signal }),
      );
      return { ok: true };
    } catch (error) {
      const status = error instanceof CrmError ? (error.code === 'NotFound' ? 404 : (this.lastStatus.get(error) ?? undefined)) : httpStatusOf(error);
      return { ok: false, status, error };
    }
  }

  /** Statuses of the failures `exec` turned into CrmErrors, so guarded writes can tell 412 from 400. */
  private readonly lastStatus = new WeakMap<CrmError, number>();

  /** `$batch` requests of `batchSize` operations, each outside any changeset and processed even when another fails. */
  private async writeIndependently(operation: string, writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
    const out: BatchOutcome[] = [];
    for (const part of chunk(writes, this.batchSize)) out.push(...(await this.executeBatch(operation, part, false)));
    return out;
  }

  /**
   * `$batch` requests with one changeset of `batchSize` operations each: all of a changeset or
   * none. A changeset that fails is written again one operation at a time, so one missing record
   * does not keep the others from being written.
   */
  private async writeInChangesets(operation: string, writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
    const parts = chunk(writes, this.batchSize);
    const outcomes = await Promise.all(
      parts.map(async (part) => {
        const result = await this.executeBatch(operation, part, true);
        if (result.every((r) => r.ok)) return result;
        return Promise.all(part.map((w) => this.guardedWrite(operation, w)));
      }),
    );
    return outcomes.flat();
  }

  private async executeBatch(operation: string, writes: readonly BatchWrite[], inChangeSet: boolean): Promise<BatchOutcome[]> {
    const responses = await this.exec(`${operation} ($batch)`, async (signal) => {
      // A batch is collected on its own client instance: startBatch() switches the whole instance into batch mode.
      const client = this.api.initializeInstance();
      client.startBatch();
      for (const w of writes) {
        void client.upsert({ collection: Tables[w.table].set, key: w.id, data: w.data, ...(w.mode === 'create' ? { ifnonematch: '*' } : { ifmatch: '*' }), inChangeSet });
      }
      const result = await client.executeBatch({ ...(inChangeSet ? {} : { continueOnError: true }), signal });
      // A throttled or unavailable batch comes back as one error part: retry the whole batch.
      const throttled = result.find((r) => r instanceof Error && (httpStatusOf(r) === 429 || httpStatusOf(r) === 503));
      if (throttled !== undefined) throw throttled;
      return result;
    });
    if (inChangeSet) {
      // A failed changeset answers with the one failing operation's error.
      const failure = responses.find((r) => r instanceof Error);
      if (failure !== undefined) return writes.map(() => ({ ok: false as const, status: httpStatusOf(failure), error: failure }));
      return writes.map(() => ({ ok: true as const }));
    }
    return writes.map((_, i) => {
      const r = responses[i];
      return r instanceof Error ? { ok: false as const, status: httpStatusOf(r), error: r } : { ok: true as const };
    });
  }

  /** Runs one request under the gate, with a time limit, and maps its failure to a CrmError. */
  private async exec<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(
        async () => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), this.timeoutMs);
          try {
            return await call(controller.signal);
          } catch (error) {
            if (controller.signal.aborted) throw new RequestTimedOut(this.timeoutMs);
            throw error;
          } finally {
            clearTimeout(timer);
          }
        },
        (error) => classifyAttempt(error, Date.now()),
        {
          throttled: (ms, attempt) => this.log.warn('dynamics.throttled', { operation, retryAfterMs: ms, attempt }),
          retrying: (ms, attempt) => this.log.warn('dynamics.retrying', { operation, delayMs: ms, attempt }),
        },
      );
    } catch (error) {
      const crmError = toCrmError(operation, error, this.redact);
      const status = httpStatusOf(error);
      if (status !== undefined) this.lastStatus.set(crmError, status);
      if (crmError.code !== 'NotFound' && status !== 412) this.log.warn('dynamics.request-failed', { operation, code: crmError.code, message: crmError.message });
      throw crmError;
    }
  }

  private async accessToken(): Promise<string> {
    const fresh = this.token !== undefined && this.token.expiresOnTimestamp - Date.now() > 120_000;
    if (fresh) return this.token!.token;
    this.pendingToken ??= (async () => {
      try {
        const token = await this.credential!.getToken(scopeOf(this.settings.organizationUrl));
        if (token === null) throw new TokenUnavailable('the credential returned no token');
        return token;
      } catch (error) {
        if (error instanceof TokenUnavailable) throw error;
        // The credential's own message may quote what it was given; only its type is passed on.
        throw new TokenUnavailable(error instanceof Error ? error.name : 'unknown error');
      } finally {
        this.pendingToken = undefined;
      }
    })();
    this.token = await this.pendingToken;
    return this.token.token;
  }
}

// ---- rows to port records ----

const str = (value: unknown): string => (value instanceof Date ? toDataverseDateTime(value.getTime()) : value == null ? '' : String(value));

const optional = <K extends string>(key: K, value: unknown): { [P in K]?: string } => (value == null || value === '' ? {} : ({ [key]: str(value) } as { [P in K]?: string }));

const epochOf = (value: unknown): number => (value instanceof Date ? value.getTime() : Date.parse(String(value)));

const parseJsonObject = (text: unknown): Record<string, unknown> | undefined => {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

function toDevice(r: Row, deviceType: string, customerAssetId: string | undefined): CrmDevice {
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
    registrationStatus: Number(r['msdyn_registrationstatus'] ?? 192350000) as RegistrationStatus,
    ...optional('registrationMessage', r['msdyn_registrationmessage']),
  };
}

function toAlert(r: Row): StoredIoTAlert {
  return {
    alertId: str(r['msdyn_iotalertid']),
    alertToken: str(r['msdyn_alerttoken']),
    deviceId: str(r['msdyn_deviceid']),
    description: str(r['msdyn_description']),
    alertData: str(r['msdyn_alertdata']),
    alertTime: epochOf(r['msdyn_alerttime']),
    alertType: (r['msdyn_alerttype'] == null ? AlertTypeValue.Anomaly : Number(r['msdyn_alerttype'])) as AlertType,
    state: Number(r['statecode']) as AlertState,
    status: Number(r['statuscode']) as AlertStatus,
    ...optional('deviceRecordId', r['_msdyn_device_value']),
    ...optional('customerAssetId', r['_msdyn_customerasset_value']),
    ...optional('parentAlertId', r['_msdyn_parentalert_value']),
    ...optional('caseId', r['_msdyn_case_value']),
    ...optional('lastCommandId', r['_msdyn_lastcommandsent_value']),
  };
}

/** The command's state and reason: from msdyn_commandstatusreason (see command-status-reason.ts). */
const toCommandStatus = (r: Row): { readonly state: CommandState; readonly statusReason?: string } => {
  const decoded = decodeCommandStatusReason(Number(r['msdyn_commandstatus'] ?? 192350000) as CfsCommandStatus, r['msdyn_commandstatusreason'] as string | null | undefined);
  // With the extension solution, its column holds the state (a reason edited by hand cannot move it).
  const extended = r[ExtensionColumns.commandState.column];
  return typeof extended === 'string' && extended !== '' ? { ...decoded, state: extended as CommandState } : decoded;
};

function workOrderSummary(w: NewCrmWorkOrder): string {
  const extra = [w.incidentType === undefined ? undefined : `incident type: ${w.incidentType}`, w.priority === undefined ? undefined : `priority: ${w.priority}`].filter((x) => x !== undefined);
  return extra.length === 0 ? w.summary : `${w.summary} (${extra.join(', ')})`;
}

function toCommand(r: Row): CrmCommand {
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
    cfsStatus: Number(r['msdyn_commandstatus'] ?? 192350000) as CfsCommandStatus,
    createdOn: epochOf(r['createdon']),
    modifiedOn: epochOf(r['modifiedon']),
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
