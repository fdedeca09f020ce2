import { CfsCommandStatus, err, ok, type CommandState } from '@fieldlink/domain';
import {
  alertNotFound,
  commandNotFound,
  commandStateMoved,
  DEFAULT_IOT_SETTINGS,
  deviceRecordsNotFound,
  type ClockPort,
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
  type IdPort,
  type IoTAlertPatch,
  type IoTAlertUpdate,
  type NewCrmCase,
  type NewCrmCommand,
  type NewCrmWorkOrder,
  type NewIoTAlert,
  type RegistrationResult,
  type RegistrationResultsWrite,
  type StoredIoTAlert,
} from '@fieldlink/ports';
import { systemClock } from './system-clock.js';

export interface InMemoryCrmOptions {
  /** Stamps `createdOn` / `modifiedOn` of commands. */
  readonly clock?: ClockPort;
}

/**
 * The Dynamics 365 records the flows touch, kept in process, with the CRM's rules: creation is
 * idempotent where the port says so (alert by id or token, case and work order per alert, command by
 * the id given), writes to missing records answer the port's not-found errors (`AlertNotFound`,
 * `CommandNotFound`, `DeviceNotFound`) and create nothing, and listings are newest first.
 * Records are copied in and out, so a caller can never change what is stored by mutating it.
 */
export class InMemoryCrm implements CrmGatewayPort {
  private readonly assets = new Map<string, CrmCustomerAsset>();
  private readonly devices = new Map<string, CrmDevice>();
  private readonly alertsById = new Map<string, StoredIoTAlert>();
  /** Per alert token, the ids of its alerts, oldest first. */
  private readonly alertIdsByToken = new Map<string, string[]>();
  private readonly commands = new Map<string, CrmCommand>();
  private readonly cases = new Map<string, CrmCase>();
  private readonly workOrders = new Map<string, CrmWorkOrder>();
  private readonly deviceData: DeviceDataHistoryEntry[] = [];
  /** Device categories by name: a device's type is its category, made when first used, as the Dynamics adapter does. */
  private readonly categories = new Map<string, CrmDeviceCategory>();
  private readonly clock: ClockPort;
  /** Insertion order breaks ties of equal timestamps, so "newest first" is stable. */
  private sequence = 0;
  private readonly order = new Map<string, number>();
  /**
   * Each device's alerts, oldest first (alert time, then creation), so the inbound flow's look-up
   * of a device's recent alerts reads only that device's newest ones instead of sorting them all.
   */
  private readonly alertsByDevice = new Map<string, Array<{ readonly alertId: string; readonly alertTime: number }>>();

  constructor(
    private readonly ids: IdPort,
    options: InMemoryCrmOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  // ---- devices and customer assets ----

  async upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void> {
    this.assets.set(asset.customerAssetId, copy(asset));
  }

  async getCustomerAsset(customerAssetId: string): Promise<CrmCustomerAsset | undefined> {
    return copyOrUndefined(this.assets.get(customerAssetId));
  }

  async upsertDevice(device: CrmDevice): Promise<void> {
    if (device.deviceType !== '' && !this.categories.has(device.deviceType)) this.defineDeviceCategory({ name: device.deviceType, readings: [], commands: [] });
    this.devices.set(device.deviceRecordId, copy(device));
  }

  /** Defines (or replaces) a device category with its readings and commands, as a customizer does in the CRM. */
  defineDeviceCategory(category: Omit<CrmDeviceCategory, 'categoryId'> & { readonly categoryId?: string }): CrmDeviceCategory {
    const stored: CrmDeviceCategory = {
      ...copy(category),
      categoryId: category.categoryId ?? this.categories.get(category.name)?.categoryId ?? this.ids.newId(),
    };
    this.categories.set(category.name, stored);
    return copy(stored);
  }

  async listDeviceCategories(): Promise<CrmDeviceCategory[]> {
    return [...this.categories.values()].sort((a, b) => a.name.localeCompare(b.name)).map(copy);
  }

  async getDevice(deviceRecordId: string): Promise<CrmDevice | undefined> {
    return copyOrUndefined(this.devices.get(deviceRecordId));
  }

  async findDeviceByHubId(deviceId: string): Promise<CrmDevice | undefined> {
    for (const d of this.devices.values()) if (d.deviceId === deviceId) return copy(d);
    return undefined;
  }

  async listDevices(): Promise<CrmDevice[]> {
    return [...this.devices.values()].map(copy);
  }

  async writeRegistrationResults(results: readonly RegistrationResult[]): Promise<RegistrationResultsWrite> {
    const missing: string[] = [];
    for (const r of results) {
      const device = this.devices.get(r.deviceRecordId);
      if (device === undefined) missing.push(r.deviceRecordId);
      else this.devices.set(r.deviceRecordId, { ...device, deviceId: r.deviceId, registrationStatus: r.status, registrationMessage: r.message });
    }
    return missing.length === 0 ? ok(undefined) : err(deviceRecordsNotFound(missing));
  }

  // ---- alerts ----

  async createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert> {
    const existing = alert.alertId ?? this.alertIdsByToken.get(alert.alertToken)?.[0];
    if (existing !== undefined && this.alertsById.has(existing)) return { alertId: existing, created: false };
    const alertId = alert.alertId ?? this.ids.newId();
    this.alertsById.set(alertId, { ...copy(alert), alertId });
    const ofToken = this.alertIdsByToken.get(alert.alertToken);
    if (ofToken === undefined) this.alertIdsByToken.set(alert.alertToken, [alertId]);
    else ofToken.push(alertId);
    this.order.set(alertId, ++this.sequence);
    this.indexByDevice(alert.deviceId, { alertId, alertTime: alert.alertTime });
    return { alertId, created: true };
  }

  async getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined> {
    const alert = this.alertsById.get(alertId);
    return alert === undefined ? undefined : copyAlert(alert);
  }

  async findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]> {
    return (this.alertIdsByToken.get(alertToken) ?? []).map((alertId) => copyAlert(this.alertsById.get(alertId)!));
  }

  async findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]> {
    const ofDevice = this.alertsByDevice.get(deviceId) ?? [];
    const recent: StoredIoTAlert[] = [];
    for (let i = ofDevice.length - 1; i >= 0 && ofDevice[i]!.alertTime >= since; i--) recent.push(copyAlert(this.alertsById.get(ofDevice[i]!.alertId)!));
    return recent;
  }

  async updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<IoTAlertUpdate> {
    const alert = this.alertsById.get(alertId);
    if (alert === undefined) return err(alertNotFound(alertId));
    this.alertsById.set(alertId, { ...alert, ...definedOnly(patch) });
    return ok(undefined);
  }

  async listIoTAlerts(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<StoredIoTAlert[]> {
    if (query.deviceId !== undefined) {
      const ofDevice = this.alertsByDevice.get(query.deviceId) ?? [];
      const count = Math.max(0, Math.min(ofDevice.length, query.top ?? ofDevice.length));
      return ofDevice
        .slice(ofDevice.length - count)
        .reverse()
        .map((a) => copyAlert(this.alertsById.get(a.alertId)!));
    }
    const all = this.alertsNewestFirst();
    return query.top === undefined ? all : all.slice(0, query.top);
  }

  // ---- commands ----

  async createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string; readonly created: boolean }> {
    if (command.commandId !== undefined && this.commands.has(command.commandId)) return { commandId: command.commandId, created: false };
    const commandId = command.commandId ?? this.ids.newId();
    const now = this.clock.now();
    this.commands.set(commandId, { ...copy(command), commandId, state: 'requested', cfsStatus: CfsCommandStatus.InProgress, createdOn: now, modifiedOn: now });
    this.order.set(commandId, ++this.sequence);
    return { commandId, created: true };
  }

  async getCommand(commandId: string): Promise<CrmCommand | undefined> {
    return copyOrUndefined(this.commands.get(commandId));
  }

  async updateCommandStatus(commandId: string, update: CommandStatusUpdate, condition?: CommandStatusCondition): Promise<CommandStatusWrite> {
    // The check and the write run without an await between them, so no other writer comes in between.
    const command = this.commands.get(commandId);
    if (command === undefined) return err(commandNotFound(commandId));
    if (condition !== undefined && command.state !== condition.ifState) return err(commandStateMoved(commandId, condition.ifState, command.state));
    this.commands.set(commandId, { ...command, ...definedOnly(update), modifiedOn: this.clock.now() });
    return ok(undefined);
  }

  async listCommands(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<CrmCommand[]> {
    const matching = [...this.commands.values()]
      .filter((c) => query.deviceId === undefined || c.deviceId === query.deviceId)
      .sort((a, b) => b.createdOn - a.createdOn || this.order.get(b.commandId)! - this.order.get(a.commandId)!)
      .map(copy);
    return query.top === undefined ? matching : matching.slice(0, query.top);
  }

  async *commandsInState(state: CommandState, pageSize: number): AsyncIterable<readonly CrmCommand[]> {
    const size = Math.max(1, Math.floor(pageSize));
    // Keyed paging, as the CRM's: each page starts after the last one handed out, so commands that left the state do not shift the rest.
    let after: { readonly createdOn: number; readonly order: number } | undefined;
    for (;;) {
      const page = [...this.commands.values()]
        .map((c) => ({ c, order: this.order.get(c.commandId)! }))
        .filter(
          ({ c, order }) =>
            c.state === state && (after === undefined || c.createdOn > after.createdOn || (c.createdOn === after.createdOn && order > after.order)),
        )
        .sort((a, b) => a.c.createdOn - b.c.createdOn || a.order - b.order)
        .slice(0, size);
      if (page.length === 0) return;
      const last = page.at(-1)!;
      after = { createdOn: last.c.createdOn, order: last.order };
      yield page.map(({ c }) => copy(c));
      if (page.length < size) return;
    }
  }

  // ---- cases and work orders ----

  async createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string; readonly created: boolean }> {
    for (const c of this.cases.values()) if (c.alertId === newCase.alertId) return { caseId: c.caseId, created: false };
    const caseId = this.ids.newId();
    this.cases.set(caseId, { ...copy(newCase), caseId });
    return { caseId, created: true };
  }

  async createWorkOrder(workOrder: NewCrmWorkOrder): Promise<{ readonly workOrderId: string; readonly created: boolean }> {
    for (const w of this.workOrders.values()) if (w.alertId === workOrder.alertId) return { workOrderId: w.workOrderId, created: false };
    const workOrderId = this.ids.newId();
    this.workOrders.set(workOrderId, { ...copy(workOrder), workOrderId });
    return { workOrderId, created: true };
  }

  async listCases(query: { readonly alertId?: string } = {}): Promise<CrmCase[]> {
    return [...this.cases.values()].filter((c) => query.alertId === undefined || c.alertId === query.alertId).map(copy);
  }

  async listWorkOrders(query: { readonly alertId?: string } = {}): Promise<CrmWorkOrder[]> {
    return [...this.workOrders.values()].filter((w) => query.alertId === undefined || w.alertId === query.alertId).map(copy);
  }

  // ---- device data history ----

  // ---- IoT settings ----

  private iotSettings: Partial<CrmIoTSettings> = {};

  async getIoTSettings(): Promise<CrmIoTSettings> {
    // An empty column reads as unspecified, as in CFS.
    const pick = (value: string | undefined, fallback: string): string => (value === undefined || value.trim() === '' ? fallback : value);
    return {
      commandNameProperty: pick(this.iotSettings.commandNameProperty, DEFAULT_IOT_SETTINGS.commandNameProperty),
      commandParametersProperty: pick(this.iotSettings.commandParametersProperty, DEFAULT_IOT_SETTINGS.commandParametersProperty),
    };
  }

  /** What an administrator sets on the organisation's IoT settings record. */
  setIoTSettings(settings: Partial<CrmIoTSettings>): void {
    this.iotSettings = { ...settings };
  }

  async addDeviceDataHistory(entry: DeviceDataHistoryEntry): Promise<void> {
    this.deviceData.push(copy(entry));
  }

  async listDeviceDataHistory(deviceId: string): Promise<DeviceDataHistoryEntry[]> {
    return this.deviceData
      .map((entry, index) => ({ entry, index }))
      .filter(({ entry }) => entry.deviceId === deviceId)
      .sort((a, b) => b.entry.recordedOn - a.entry.recordedOn || b.index - a.index)
      .map(({ entry }) => copy(entry));
  }

  /** Inserts in (alert time, creation) order; alerts mostly come in time order, so this is mostly an append. */
  private indexByDevice(deviceId: string, alert: { readonly alertId: string; readonly alertTime: number }): void {
    const list = this.alertsByDevice.get(deviceId) ?? [];
    this.alertsByDevice.set(deviceId, list);
    let at = list.length;
    while (at > 0 && list[at - 1]!.alertTime > alert.alertTime) at--;
    list.splice(at, 0, alert);
  }

  private alertsNewestFirst(): StoredIoTAlert[] {
    return [...this.alertsById.values()].sort((a, b) => b.alertTime - a.alertTime || this.order.get(b.alertId)! - this.order.get(a.alertId)!).map(copyAlert);
  }
}

const copy = <T>(value: T): T => structuredClone(value);
/**
 * An alert's fields are strings and numbers (`StoredIoTAlert`), and a kept alert is replaced, never
 * changed in place: a copy of its own fields is a whole copy, at a fraction of `structuredClone`'s
 * cost (parenting reads every alert of a device in the last five minutes for each new alert).
 */
const copyAlert = (alert: StoredIoTAlert): StoredIoTAlert => ({ ...alert });
const copyOrUndefined = <T>(value: T | undefined): T | undefined => (value === undefined ? undefined : copy(value));

/** A patch's keys that carry a value: `undefined` means "leave alone", as in a Dataverse PATCH. */
function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
