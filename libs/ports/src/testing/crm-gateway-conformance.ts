import { AlertState, AlertStatus, CfsCommandStatus, RegistrationStatus } from '@fieldlink/domain';
import { afterEach, describe, expect, it } from 'vitest';
import {
  commandStateMoved,
  type CreatedIoTAlert,
  type CrmAlertsPort,
  type CrmCommandsPort,
  type CrmCustomerAsset,
  type CrmDevice,
  type CrmDeviceCategoriesPort,
  type CrmDeviceDataPort,
  type CrmDevicesPort,
  type CrmGatewayPort,
  type CrmSettingsPort,
  type CrmWorkPort,
  type NewCrmCase,
  type NewCrmCommand,
  type NewIoTAlert,
} from '../crm-gateway-port.js';
import { aCrmDevice, aNewIoTAlert } from './builders.js';
import { newGuid, uniqueDeviceId } from './conformance-support.js';
import type { CrmReadBack } from './crm-read-back.js';

/*
 * The CRM gateway's conformance, one suite per role interface of `CrmGatewayPort` (devices,
 * alerts, commands, work, device data, device categories, settings), so an adapter of one role
 * runs its role's suite; `crmGatewayConformance` runs them all on one adapter, as the composition
 * binds one CRM adapter for every role. A role's tests refer to records another role makes (an
 * alert's device, a case to patch onto it): the harness makes them (`related`), which for the
 * whole gateway is the gateway itself.
 */

/** What each role's harness has: the role under test, with the reads its suite checks with. */
export interface CrmRoleUnderTest<P> {
  readonly crm: P;
  /**
   * Lets time pass between two writes, so that "newest first" by creation time is observable
   * (a manual clock moves; against a real service, wait — Dataverse stamps whole seconds).
   */
  advanceTime(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The records a role's tests refer to that other roles make, as the CRM holds them: where the
 * service checks a reference (Dataverse binds a lookup only to a record that exists), they must
 * exist; an adapter of one role over a store that checks none may keep them nowhere.
 */
export interface CrmRelatedRecords {
  upsertCustomerAsset(asset: CrmCustomerAsset): Promise<void>;
  upsertDevice(device: CrmDevice): Promise<void>;
  createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert>;
  createCase(newCase: NewCrmCase): Promise<{ readonly caseId: string }>;
  createCommand(command: NewCrmCommand): Promise<{ readonly commandId: string }>;
}

/** Sets the organisation's IoT settings record as an administrator would (outside the port). */
type SetIoTSettings = (settings: { readonly commandNameProperty?: string; readonly commandParametersProperty?: string }) => Promise<void>;

/** Defines a device category with readings and commands the way the CRM keeps them (a customizer's work, not the port's). */
type DefineDeviceCategory = (category: {
  readonly name: string;
  readonly readings: readonly string[];
  readonly commands: ReadonlyArray<{ readonly name: string; readonly parameters: readonly string[] }>;
}) => Promise<void>;

export type CrmDevicesUnderTest = CrmRoleUnderTest<CrmDevicesPort & Pick<CrmReadBack, 'getCustomerAsset'>>;
export type CrmAlertsUnderTest = CrmRoleUnderTest<CrmAlertsPort & Pick<CrmReadBack, 'findIoTAlertsByToken'>> & {
  readonly related: Pick<CrmRelatedRecords, 'upsertCustomerAsset' | 'upsertDevice' | 'createCase' | 'createCommand'>;
};
export type CrmCommandsUnderTest = CrmRoleUnderTest<CrmCommandsPort> & { readonly related: Pick<CrmRelatedRecords, 'upsertDevice' | 'createIoTAlert'> };
export type CrmWorkUnderTest = CrmRoleUnderTest<CrmWorkPort & Pick<CrmReadBack, 'listCases'>> & {
  readonly related: Pick<CrmRelatedRecords, 'upsertCustomerAsset' | 'createIoTAlert'>;
};
export type CrmDeviceCategoriesUnderTest = CrmRoleUnderTest<CrmDeviceCategoriesPort> & {
  /** The categories follow the devices: a device of a new type makes its category. */
  readonly related: Pick<CrmRelatedRecords, 'upsertDevice'>;
  readonly defineDeviceCategory: DefineDeviceCategory;
};
export type CrmDeviceDataUnderTest = CrmRoleUnderTest<CrmDeviceDataPort> & { readonly related: Pick<CrmRelatedRecords, 'upsertDevice'> };
export type CrmSettingsUnderTest = CrmRoleUnderTest<CrmSettingsPort> & { readonly setIoTSettings: SetIoTSettings };

export interface CrmGatewayUnderTest {
  /** The adapter, with the reads the suite makes to check what it wrote. */
  readonly crm: CrmGatewayPort & CrmReadBack;
  /**
   * Lets time pass between two writes, so that "newest first" by creation time is observable
   * (a manual clock moves; against a real service, wait — Dataverse stamps whole seconds).
   */
  advanceTime(ms: number): Promise<void>;
  /** Sets the organisation's IoT settings record as an administrator would (outside the port). */
  setIoTSettings(settings: { readonly commandNameProperty?: string; readonly commandParametersProperty?: string }): Promise<void>;
  /** Defines a device category with readings and commands the way the CRM keeps them (a customizer's work, not the port's). */
  defineDeviceCategory(category: {
    readonly name: string;
    readonly readings: readonly string[];
    readonly commands: ReadonlyArray<{ readonly name: string; readonly parameters: readonly string[] }>;
  }): Promise<void>;
  dispose(): Promise<void>;
}

export type CrmGatewayFactory = () => Promise<CrmGatewayUnderTest>;

/** A device id with a quote and an OData fragment in it: it must be treated as plain data. */
const dangerousDeviceId = (): string => uniqueDeviceId("o'brien-x'or'1'eq'1");

/** A fresh unregistered device: records outlive a test on a real service. */
const device = (overrides: Partial<CrmDevice> = {}): CrmDevice =>
  aCrmDevice({ deviceRecordId: newGuid(), deviceId: uniqueDeviceId('thermostat'), registrationStatus: RegistrationStatus.Unregistered, ...overrides });

const alert = (deviceId: string, alertTime: number, overrides: Partial<NewIoTAlert> = {}): NewIoTAlert =>
  aNewIoTAlert({ alertToken: newGuid(), deviceId, alertTime, ...overrides });

/** Alert times are whole seconds, as Dataverse stores them. */
const T0 = Date.parse('2026-11-28T09:15:00Z');

/** Opens a harness per test and disposes of it after the test, failed or not. */
function opener<H extends { dispose(): Promise<void> }>(factory: () => Promise<H>): () => Promise<H> {
  let current: H | undefined;
  afterEach(async () => {
    const opened = current;
    current = undefined;
    await opened?.dispose();
  });
  return async () => (current = await factory());
}

function devicesTests(open: () => Promise<CrmDevicesUnderTest>): void {
  describe('devices and customer assets', () => {
    it('reads back a customer asset as written, and nothing for an unknown id', async () => {
      const { crm } = await open();
      const asset = { customerAssetId: newGuid(), name: 'Head office HVAC' };
      await crm.upsertCustomerAsset(asset);
      expect(await crm.getCustomerAsset(asset.customerAssetId)).toEqual(asset);
      await crm.upsertCustomerAsset({ ...asset, name: 'Head office HVAC (east)' });
      expect(await crm.getCustomerAsset(asset.customerAssetId)).toEqual({ ...asset, name: 'Head office HVAC (east)' });
      expect(await crm.getCustomerAsset(newGuid())).toBeUndefined();
    });

    it('creates a device, replaces it on a second upsert, and finds it by record id and hub id', async () => {
      const { crm } = await open();
      const asset = { customerAssetId: newGuid(), name: 'Lobby' };
      await crm.upsertCustomerAsset(asset);
      const d = device({ customerAssetId: asset.customerAssetId, tags: { site: 'lobby', floor: 1 }, settings: { TargetTemperature: 21 } });
      await crm.upsertDevice(d);
      expect(await crm.getDevice(d.deviceRecordId)).toEqual(d);
      expect(await crm.findDeviceByHubId(d.deviceId)).toEqual(d);
      const renamed = { ...d, name: 'Lobby thermostat (new)', registrationStatus: RegistrationStatus.Registered, registrationMessage: 'ok' };
      await crm.upsertDevice(renamed);
      expect(await crm.getDevice(d.deviceRecordId)).toEqual(renamed);
      expect((await crm.listDevices()).filter((x) => x.deviceRecordId === d.deviceRecordId)).toEqual([renamed]);
      expect(await crm.getDevice(newGuid())).toBeUndefined();
      expect(await crm.findDeviceByHubId(uniqueDeviceId('nobody'))).toBeUndefined();
    });

    it('finds a device whose hub id contains a quote, and no other device through it', async () => {
      const { crm } = await open();
      const quoted = device({ deviceId: dangerousDeviceId() });
      const other = device();
      await crm.upsertDevice(quoted);
      await crm.upsertDevice(other);
      expect(await crm.findDeviceByHubId(quoted.deviceId)).toEqual(quoted);
      expect(await crm.findDeviceByHubId(`${other.deviceId}' or msdyn_deviceid ne '`)).toBeUndefined();
      expect(await crm.findDeviceByHubId("'")).toBeUndefined();
    });

    it('writes each registration result onto its device', async () => {
      const { crm } = await open();
      const ok = device();
      const failed = device({ deviceId: dangerousDeviceId() });
      await crm.upsertDevice(ok);
      await crm.upsertDevice(failed);
      expect(
        await crm.writeRegistrationResults([
          { deviceRecordId: ok.deviceRecordId, deviceId: ok.deviceId, status: RegistrationStatus.Registered, message: 'Registered in the IoT hub' },
          { deviceRecordId: failed.deviceRecordId, deviceId: failed.deviceId, status: RegistrationStatus.Error, message: "Device id 'x' is not allowed" },
        ]),
      ).toEqual({ ok: true, value: undefined });
      expect(await crm.getDevice(ok.deviceRecordId)).toMatchObject({
        deviceId: ok.deviceId,
        registrationStatus: RegistrationStatus.Registered,
        registrationMessage: 'Registered in the IoT hub',
      });
      expect(await crm.getDevice(failed.deviceRecordId)).toMatchObject({
        deviceId: failed.deviceId,
        registrationStatus: RegistrationStatus.Error,
        registrationMessage: "Device id 'x' is not allowed",
      });
    });
    it('answers the results of devices it does not hold with the DeviceNotFound error naming them, writes the others, and creates no device', async () => {
      const { crm } = await open();
      const held = device();
      await crm.upsertDevice(held);
      const missing = newGuid();
      const written = await crm.writeRegistrationResults([
        { deviceRecordId: missing, deviceId: uniqueDeviceId('gone'), status: RegistrationStatus.Registered, message: 'Registered' },
        { deviceRecordId: held.deviceRecordId, deviceId: held.deviceId, status: RegistrationStatus.Registered, message: 'Registered' },
        { deviceRecordId: 'not-a-record-id', deviceId: uniqueDeviceId('gone'), status: RegistrationStatus.Error, message: 'Refused' },
      ]);
      expect(written).toMatchObject({ ok: false, error: { code: 'DeviceNotFound', deviceRecordIds: [missing, 'not-a-record-id'] } });
      expect(await crm.getDevice(held.deviceRecordId)).toMatchObject({ registrationStatus: RegistrationStatus.Registered, registrationMessage: 'Registered' });
      expect(await crm.getDevice(missing)).toBeUndefined();
    });
  });
}

function alertsTests(open: () => Promise<CrmAlertsUnderTest>): void {
  describe('alerts', () => {
    it('creates an alert once per alert token and reads it back with what the inbound flow resolved', async () => {
      const { crm, related } = await open();
      const asset = { customerAssetId: newGuid(), name: 'Lobby' };
      await related.upsertCustomerAsset(asset);
      const d = device({ customerAssetId: asset.customerAssetId });
      await related.upsertDevice(d);
      const a = alert(d.deviceId, T0, { deviceRecordId: d.deviceRecordId, customerAssetId: asset.customerAssetId });
      const first = await crm.createIoTAlert(a);
      const second = await crm.createIoTAlert({ ...a, description: 'redelivered' });
      expect(first.created).toBe(true);
      expect(second).toEqual({ alertId: first.alertId, created: false });
      const stored = await crm.getIoTAlert(first.alertId);
      expect(stored).toMatchObject({ ...a, alertId: first.alertId });
      expect(await crm.findIoTAlertsByToken(a.alertToken)).toMatchObject([{ alertId: first.alertId, description: a.description }]);
      expect(await crm.listIoTAlerts({ deviceId: d.deviceId })).toHaveLength(1);
      expect(await crm.getIoTAlert(newGuid())).toBeUndefined();
      expect(await crm.findIoTAlertsByToken(newGuid())).toEqual([]);
    });

    it('creates one record per alert id, several alerts of one event token included, each once however often it is created', async () => {
      const { crm, related } = await open();
      const d = device();
      await related.upsertDevice(d);
      const token = newGuid();
      const temperature = alert(d.deviceId, T0, {
        alertToken: token,
        alertId: newGuid(),
        description: 'Temperature reading of 86 exceeded a threshold of 70',
      });
      const humidity = alert(d.deviceId, T0, { alertToken: token, alertId: newGuid(), description: 'Humidity reading of 90 exceeded a threshold of 80' });
      expect(await crm.createIoTAlert(temperature)).toEqual({ alertId: temperature.alertId, created: true });
      expect(await crm.createIoTAlert(humidity)).toEqual({ alertId: humidity.alertId, created: true });
      expect(await crm.createIoTAlert({ ...humidity, description: 'redelivered' })).toEqual({ alertId: humidity.alertId, created: false });
      expect(await crm.getIoTAlert(humidity.alertId!)).toMatchObject({ alertToken: token, description: humidity.description });
      const ofToken = await crm.findIoTAlertsByToken(token);
      expect(ofToken.map((a) => a.alertId).sort()).toEqual([temperature.alertId, humidity.alertId].sort());
      expect(ofToken.every((a) => a.alertToken === token)).toBe(true);
    });

    it('keeps alert data and descriptions exactly, quotes and non-ASCII included', async () => {
      const { crm } = await open();
      const deviceId = dangerousDeviceId();
      const a = alert(deviceId, T0, {
        description: "Température d'entrée 86 °C > 70",
        alertData: JSON.stringify({ note: 'it\'s "hot" — 🔥', deviceid: deviceId }),
      });
      const { alertId } = await crm.createIoTAlert(a);
      expect(await crm.getIoTAlert(alertId)).toMatchObject({ deviceId, description: a.description, alertData: a.alertData, alertTime: T0 });
    });

    it('finds the recent alerts of one device, newest first, for parenting', async () => {
      const { crm } = await open();
      const deviceId = dangerousDeviceId();
      const otherDevice = uniqueDeviceId('thermostat');
      const old = await crm.createIoTAlert(alert(deviceId, T0 - 600_000));
      const a1 = await crm.createIoTAlert(alert(deviceId, T0 - 120_000));
      const a2 = await crm.createIoTAlert(alert(deviceId, T0));
      await crm.createIoTAlert(alert(otherDevice, T0));
      const recent = await crm.findRecentIoTAlerts(deviceId, T0 - 300_000);
      expect(recent.map((x) => x.alertId)).toEqual([a2.alertId, a1.alertId]);
      expect(recent.map((x) => x.alertId)).not.toContain(old.alertId);
      expect((await crm.findRecentIoTAlerts(deviceId, T0)).map((x) => x.alertId)).toEqual([a2.alertId]);
    });

    it('applies a patch to an alert and leaves the other fields alone', async () => {
      const { crm, related } = await open();
      const deviceId = uniqueDeviceId('thermostat');
      const parent = await crm.createIoTAlert(alert(deviceId, T0 - 60_000));
      const child = await crm.createIoTAlert(alert(deviceId, T0));
      const c = await related.createCase({ title: 'Temperature too high', alertId: child.alertId });
      const cmd = await related.createCommand({
        commandId: newGuid(),
        name: 'Reset Thermostat',
        message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
        deviceId,
      });
      expect(await crm.updateIoTAlert(child.alertId, { parentAlertId: parent.alertId })).toEqual({ ok: true, value: undefined });
      expect(
        await crm.updateIoTAlert(child.alertId, {
          state: AlertState.InProgress,
          status: AlertStatus.InProgressCaseCreated,
          caseId: c.caseId,
          lastCommandId: cmd.commandId,
        }),
      ).toEqual({ ok: true, value: undefined });
      expect(await crm.getIoTAlert(child.alertId)).toMatchObject({
        alertId: child.alertId,
        deviceId,
        alertTime: T0,
        parentAlertId: parent.alertId,
        state: AlertState.InProgress,
        status: AlertStatus.InProgressCaseCreated,
        caseId: c.caseId,
        lastCommandId: cmd.commandId,
      });
    });

    it('answers a patch of an alert that does not exist with the AlertNotFound error, and creates no alert', async () => {
      const { crm } = await open();
      const alertId = newGuid();
      expect(await crm.updateIoTAlert(alertId, { state: AlertState.Closed, status: AlertStatus.Closed })).toMatchObject({
        ok: false,
        error: { code: 'AlertNotFound', alertId },
      });
      expect(await crm.getIoTAlert(alertId)).toBeUndefined();
    });

    it('answers a patch under an id that can name no record with the AlertNotFound error', async () => {
      const { crm } = await open();
      for (const alertId of ['not-a-record-id', "x' or 1 eq 1"]) {
        expect(await crm.updateIoTAlert(alertId, { state: AlertState.Closed, status: AlertStatus.Closed })).toMatchObject({
          ok: false,
          error: { code: 'AlertNotFound', alertId },
        });
      }
    });

    it('lists alerts newest first, by device and up to a count', async () => {
      const { crm } = await open();
      const deviceId = uniqueDeviceId('thermostat');
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await crm.createIoTAlert(alert(deviceId, T0 + i * 1_000))).alertId);
      await crm.createIoTAlert(alert(uniqueDeviceId('other'), T0 + 10_000));
      expect((await crm.listIoTAlerts({ deviceId })).map((a) => a.alertId)).toEqual([...ids].reverse());
      expect((await crm.listIoTAlerts({ deviceId, top: 2 })).map((a) => a.alertId)).toEqual([ids[2], ids[1]]);
    });
  });
}

function commandsTests(open: () => Promise<CrmCommandsUnderTest>): void {
  describe('commands', () => {
    it('creates a command once for the id given, in progress, and reads it back', async () => {
      const { crm, related } = await open();
      const d = device();
      await related.upsertDevice(d);
      const parent = await related.createIoTAlert(alert(d.deviceId, T0));
      const commandId = newGuid();
      const command = {
        commandId,
        name: 'Set Values',
        message: '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"30","Humidity":"30"}}}',
        deviceId: d.deviceId,
        deviceRecordId: d.deviceRecordId,
        parentAlertId: parent.alertId,
      };
      expect(await crm.createCommand(command)).toEqual({ commandId, created: true });
      expect(await crm.createCommand(command)).toEqual({ commandId, created: false });
      const stored = await crm.getCommand(commandId);
      expect(stored).toMatchObject({ ...command, state: 'requested', cfsStatus: CfsCommandStatus.InProgress });
      expect(stored!.modifiedOn).toBeGreaterThanOrEqual(stored!.createdOn);
      expect(await crm.listCommands({ deviceId: d.deviceId })).toHaveLength(1);
      expect(await crm.getCommand(newGuid())).toBeUndefined();
    });

    it('gives a new command an id when none is given', async () => {
      const { crm } = await open();
      const deviceId = dangerousDeviceId();
      const a = await crm.createCommand({ name: 'Reset Thermostat', message: '{"CommandName":"Reset Thermostat","Parameters":{}}', deviceId });
      const b = await crm.createCommand({ name: 'Reset Thermostat', message: '{"CommandName":"Reset Thermostat","Parameters":{}}', deviceId });
      expect(a.created && b.created).toBe(true);
      expect(a.commandId).not.toBe(b.commandId);
      expect(await crm.getCommand(a.commandId)).toMatchObject({ deviceId, name: 'Reset Thermostat' });
    });

    it('writes a status change back to the command', async () => {
      const { crm } = await open();
      const { commandId } = await aResetCommandIn(crm);
      await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent });
      expect(await crm.getCommand(commandId)).toMatchObject({ state: 'sent', cfsStatus: CfsCommandStatus.Sent });
      await crm.updateCommandStatus(commandId, {
        state: 'expired',
        cfsStatus: CfsCommandStatus.Error,
        statusReason: 'Expired: the device did not take the message within its time to live',
      });
      expect(await crm.getCommand(commandId)).toMatchObject({
        state: 'expired',
        cfsStatus: CfsCommandStatus.Error,
        statusReason: 'Expired: the device did not take the message within its time to live',
      });
    });

    it('answers a status change of a command that does not exist with the CommandNotFound error, and creates no command', async () => {
      const { crm } = await open();
      const commandId = newGuid();
      const written = await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent });
      expect(written).toMatchObject({ ok: false, error: { code: 'CommandNotFound', commandId } });
      expect(await crm.getCommand(commandId)).toBeUndefined();
    });

    it('answers a status change under an id that can name no record with the CommandNotFound error', async () => {
      const { crm } = await open();
      for (const commandId of ['not-a-record-id', "x' or 1 eq 1"]) {
        for (const condition of [undefined, { ifState: 'requested' } as const]) {
          expect(await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent }, condition)).toMatchObject({
            ok: false,
            error: { code: 'CommandNotFound', commandId },
          });
        }
      }
    });

    it('applies a conditional status write while the command is still in the state the caller read', async () => {
      const { crm } = await open();
      const { commandId } = await aResetCommandIn(crm);
      expect(
        await crm.updateCommandStatus(
          commandId,
          { state: 'sent', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Sent to the device' },
          { ifState: 'requested' },
        ),
      ).toEqual({ ok: true, value: undefined });
      expect(await crm.getCommand(commandId)).toMatchObject({ state: 'sent', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Sent to the device' });
      expect(
        await crm.updateCommandStatus(
          commandId,
          { state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' },
          { ifState: 'sent' },
        ),
      ).toEqual({ ok: true, value: undefined });
      expect(await crm.getCommand(commandId)).toMatchObject({ state: 'delivered', statusReason: 'Delivered to the device' });
    });

    it('refuses a conditional status write, naming the state found and leaving the record alone, when another write moved the command first', async () => {
      const { crm } = await open();
      const { commandId } = await aResetCommandIn(crm);
      await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Sent to the device' });
      const read = await crm.getCommand(commandId);
      // Between this reader's read and its write, the hub's feedback moves the command on.
      await crm.updateCommandStatus(commandId, { state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' });
      const refused = await crm.updateCommandStatus(
        commandId,
        { state: 'sent', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Sent again' },
        { ifState: read!.state },
      );
      expect(refused).toEqual({ ok: false, error: commandStateMoved(commandId, 'sent', 'delivered') });
      expect(await crm.getCommand(commandId)).toMatchObject({
        state: 'delivered',
        cfsStatus: CfsCommandStatus.Sent,
        statusReason: 'Delivered to the device',
      });
    });

    it('lets exactly one of two conditional writes from the same state apply, the other finding the winner’s state', async () => {
      const { crm } = await open();
      const { commandId } = await aResetCommandIn(crm);
      await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent });
      const [delivered, rejected] = await Promise.all([
        crm.updateCommandStatus(
          commandId,
          { state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' },
          { ifState: 'sent' },
        ),
        crm.updateCommandStatus(
          commandId,
          { state: 'rejected', cfsStatus: CfsCommandStatus.Error, statusReason: 'The device rejected it' },
          { ifState: 'sent' },
        ),
      ]);
      expect([delivered.ok, rejected.ok].filter(Boolean)).toHaveLength(1);
      const winner = delivered.ok ? 'delivered' : 'rejected';
      const loser = delivered.ok ? rejected : delivered;
      expect(loser).toEqual({ ok: false, error: commandStateMoved(commandId, 'sent', winner) });
      expect(await crm.getCommand(commandId)).toMatchObject({ state: winner });
    });

    it('answers a conditional status write of a command that does not exist with the CommandNotFound error', async () => {
      const { crm } = await open();
      const commandId = newGuid();
      expect(await crm.updateCommandStatus(commandId, { state: 'sent', cfsStatus: CfsCommandStatus.Sent }, { ifState: 'requested' })).toMatchObject({
        ok: false,
        error: { code: 'CommandNotFound', commandId },
      });
    });

    it('lists commands newest first, by device and up to a count', async () => {
      const harness = await open();
      const deviceId = uniqueDeviceId('thermostat');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await harness.advanceTime(1_000);
        ids.push(
          (
            await harness.crm.createCommand({
              commandId: newGuid(),
              name: `Notification ${i}`,
              message: '{"CommandName":"Notification","Parameters":{"Message":"hi"}}',
              deviceId,
            })
          ).commandId,
        );
      }
      expect((await harness.crm.listCommands({ deviceId })).map((c) => c.commandId)).toEqual([...ids].reverse());
      expect((await harness.crm.listCommands({ deviceId, top: 1 })).map((c) => c.commandId)).toEqual([ids[2]]);
    });
  });

  describe('commands in a state, paged', () => {
    it('hands every command in the state, oldest first, in pages of the size asked, those sharing a creation second included', async () => {
      const harness = await open();
      const { crm } = harness;
      const deviceId = uniqueDeviceId('thermostat');
      const message = '{"CommandName":"Reset Thermostat","Parameters":{}}';
      const ids: string[] = [];
      // Five in one second (ties on createdon), then two later ones.
      for (let i = 0; i < 5; i++) ids.push((await crm.createCommand({ commandId: newGuid(), name: 'Reset Thermostat', message, deviceId })).commandId);
      await harness.advanceTime(1_000);
      ids.push((await crm.createCommand({ commandId: newGuid(), name: 'Reset Thermostat', message, deviceId })).commandId);
      await harness.advanceTime(1_000);
      ids.push((await crm.createCommand({ commandId: newGuid(), name: 'Reset Thermostat', message, deviceId })).commandId);
      const sent = ids[2]!;
      await crm.updateCommandStatus(sent, { state: 'sent', cfsStatus: CfsCommandStatus.Sent });

      const seen: string[] = [];
      let moved = false;
      for await (const page of crm.commandsInState('requested', 2)) {
        expect(page.length).toBeLessThanOrEqual(2);
        for (const c of page) expect(c.state).toBe('requested');
        seen.push(...page.map((c) => c.commandId).filter((id) => ids.includes(id)));
        // A command leaving the state while the pages are read shifts none of the others out.
        if (!moved && seen.length > 0) {
          await crm.updateCommandStatus(seen[0]!, { state: 'sent', cfsStatus: CfsCommandStatus.Sent });
          moved = true;
        }
      }
      const requested = ids.filter((id) => id !== sent);
      expect(new Set(seen)).toEqual(new Set(requested));
      expect(seen).toHaveLength(requested.length);
      // Oldest first: the two later ones come after the five of the first second.
      expect(seen.slice(-2)).toEqual(ids.slice(-2));
      const inSent: string[] = [];
      for await (const page of crm.commandsInState('sent', 100)) inSent.push(...page.map((c) => c.commandId).filter((id) => ids.includes(id)));
      expect(new Set(inSent)).toEqual(new Set([sent, seen[0]]));
    });
  });
}

function workTests(open: () => Promise<CrmWorkUnderTest>): void {
  describe('cases and work orders', () => {
    it('creates one case per alert, however often it is asked', async () => {
      const { crm, related } = await open();
      const asset = { customerAssetId: newGuid(), name: 'Lobby' };
      await related.upsertCustomerAsset(asset);
      const { alertId } = await related.createIoTAlert(alert(uniqueDeviceId('thermostat'), T0));
      const first = await crm.createCase({ title: 'Temperature too high', alertId, customerAssetId: asset.customerAssetId, description: 'Lobby is hot' });
      const second = await crm.createCase({ title: 'Temperature too high (again)', alertId });
      expect(first.created).toBe(true);
      expect(second).toEqual({ caseId: first.caseId, created: false });
      expect(await crm.listCases({ alertId })).toEqual([
        { caseId: first.caseId, title: 'Temperature too high', alertId, customerAssetId: asset.customerAssetId, description: 'Lobby is hot' },
      ]);
    });

    it('creates one work order per alert, linked to its case', async () => {
      const { crm, related } = await open();
      const { alertId } = await related.createIoTAlert(alert(uniqueDeviceId('thermostat'), T0));
      const { alertId: otherAlertId } = await related.createIoTAlert(alert(uniqueDeviceId('thermostat'), T0));
      const { caseId } = await crm.createCase({ title: 'Temperature too high', alertId });
      const first = await crm.createWorkOrder({ alertId, caseId, summary: 'Inspect the thermostat' });
      const second = await crm.createWorkOrder({ alertId, caseId, summary: 'Inspect the thermostat' });
      const other = await crm.createWorkOrder({ alertId: otherAlertId, summary: 'Replace the sensor' });
      expect(first.created).toBe(true);
      expect(second).toEqual({ workOrderId: first.workOrderId, created: false });
      expect(other.workOrderId).not.toBe(first.workOrderId);
      expect(await crm.listWorkOrders({ alertId })).toEqual([{ workOrderId: first.workOrderId, alertId, caseId, summary: 'Inspect the thermostat' }]);
    });
  });
}

function deviceCategoriesTests(open: () => Promise<CrmDeviceCategoriesUnderTest>): void {
  describe('device categories', () => {
    it("lists a device's type as a device category, made when a device of a new type is written", async () => {
      const { crm, related } = await open();
      const type = `Thermostat ${newGuid().slice(0, 8)}`;
      await related.upsertDevice(device({ deviceType: type }));
      await related.upsertDevice(device({ deviceType: type }));
      const found = (await crm.listDeviceCategories()).filter((c) => c.name === type);
      expect(found).toEqual([{ categoryId: expect.any(String), name: type, readings: [], commands: [] }]);
    });

    it('lists the readings and commands the organisation defines for a category', async () => {
      const harness = await open();
      const name = `Chiller ${newGuid().slice(0, 8)}`;
      await harness.defineDeviceCategory({
        name,
        readings: ['Humidity', 'Temperature'],
        commands: [
          { name: 'Reset Thermostat', parameters: [] },
          { name: 'Set Values', parameters: ['Humidity', 'Temperature'] },
        ],
      });
      const [category] = (await harness.crm.listDeviceCategories()).filter((c) => c.name === name);
      expect(category).toEqual({
        categoryId: expect.any(String),
        name,
        readings: ['Humidity', 'Temperature'],
        commands: [
          { name: 'Reset Thermostat', parameters: [] },
          { name: 'Set Values', parameters: ['Humidity', 'Temperature'] },
        ],
      });
      // A device of that type uses the category the organisation has, not a second one.
      await harness.related.upsertDevice(device({ deviceType: name }));
      expect((await harness.crm.listDeviceCategories()).filter((c) => c.name === name)).toHaveLength(1);
    });
  });
}

function deviceDataTests(open: () => Promise<CrmDeviceDataUnderTest>): void {
  describe('device data history', () => {
    it('keeps pulled device data, newest first, per device', async () => {
      const { crm, related } = await open();
      const d = device({ deviceId: dangerousDeviceId() });
      await related.upsertDevice(d);
      const older = {
        deviceId: d.deviceId,
        deviceRecordId: d.deviceRecordId,
        connectionState: 'Disconnected' as const,
        reportedProperties: '{"firmware":"1.0"}',
        recordedOn: T0,
      };
      const newer = {
        deviceId: d.deviceId,
        deviceRecordId: d.deviceRecordId,
        connectionState: 'Connected' as const,
        lastActivityTime: T0 + 30_000,
        reportedProperties: '{"firmware":"1.1","note":"it\'s fine"}',
        recordedOn: T0 + 60_000,
      };
      await crm.addDeviceDataHistory(older);
      await crm.addDeviceDataHistory(newer);
      await crm.addDeviceDataHistory({ ...newer, deviceId: uniqueDeviceId('other'), deviceRecordId: newGuid() });
      expect(await crm.listDeviceDataHistory(d.deviceId)).toEqual([newer, older]);
      expect(await crm.listDeviceDataHistory(uniqueDeviceId('nobody'))).toEqual([]);
    });

    it('keeps the data of devices whose hub ids differ only in case apart: the hub tells them apart, Dataverse compares text without case', async () => {
      const { crm } = await open();
      const lower = uniqueDeviceId('thermostat');
      const upper = lower.toUpperCase();
      const entry = (deviceId: string, recordedOn: number) => ({ deviceId, connectionState: 'Connected' as const, reportedProperties: '{}', recordedOn });
      await crm.addDeviceDataHistory(entry(lower, T0));
      await crm.addDeviceDataHistory(entry(upper, T0 + 1_000));
      expect(await crm.listDeviceDataHistory(lower)).toEqual([entry(lower, T0)]);
      expect(await crm.listDeviceDataHistory(upper)).toEqual([entry(upper, T0 + 1_000)]);
    });
  });
}

function settingsTests(open: () => Promise<CrmSettingsUnderTest>): void {
  describe('IoT settings', () => {
    it("gives CFS's command property names (CommandName, Parameters) when the organisation has set none", async () => {
      const { crm } = await open();
      expect(await crm.getIoTSettings()).toEqual({ commandNameProperty: 'CommandName', commandParametersProperty: 'Parameters' });
    });

    it('reads the command property names of the IoT settings record, an empty one meaning the default', async () => {
      const under = await open();
      await under.setIoTSettings({ commandNameProperty: 'cmd', commandParametersProperty: 'args' });
      expect(await under.crm.getIoTSettings()).toEqual({ commandNameProperty: 'cmd', commandParametersProperty: 'args' });
      await under.setIoTSettings({ commandNameProperty: 'Name', commandParametersProperty: '' });
      expect(await under.crm.getIoTSettings()).toEqual({ commandNameProperty: 'Name', commandParametersProperty: 'Parameters' });
    });
  });
}

/** A Reset Thermostat command of its own id, for a device of its own. */
const aResetCommandIn = (crm: CrmCommandsPort) =>
  crm.createCommand({
    commandId: newGuid(),
    name: 'Reset Thermostat',
    message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
    deviceId: uniqueDeviceId('thermostat'),
  });

/** A role's suite as a function of the adapter's name and harness factory. */
function roleConformance<H extends { dispose(): Promise<void> }>(port: string, tests: (open: () => Promise<H>) => void) {
  return (adapterName: string, factory: () => Promise<H>): void => {
    describe(`${adapterName} conforms to ${port}`, () => {
      tests(opener(factory));
    });
  };
}

/** What every CrmDevicesPort adapter must do: customer assets and devices read back as written, found by hub id (a `'` in it plain data), registration results written onto their devices, and `DeviceNotFound` naming the devices it does not hold. */
export const crmDevicesConformance = roleConformance<CrmDevicesUnderTest>('CrmDevicesPort', devicesTests);

/** What every CrmAlertsPort adapter must do: alerts created once per id or token, read back exactly, found newest first per device, patched, and `AlertNotFound` for a patch of an alert it does not hold. */
export const crmAlertsConformance = roleConformance<CrmAlertsUnderTest>('CrmAlertsPort', alertsTests);

/** What every CrmCommandsPort adapter must do: commands created once per id, status writes (conditional ones atomic), `CommandNotFound` and `StateMoved` as values, listings newest first, and the commands in a state paged oldest first. */
export const crmCommandsConformance = roleConformance<CrmCommandsUnderTest>('CrmCommandsPort', commandsTests);

/** What every CrmWorkPort adapter must do: one case and one work order per alert, however often asked. */
export const crmWorkConformance = roleConformance<CrmWorkUnderTest>('CrmWorkPort', workTests);

/** What every CrmDeviceCategoriesPort adapter must do: a device's type listed as its category, with the readings and commands the organisation defines. */
export const crmDeviceCategoriesConformance = roleConformance<CrmDeviceCategoriesUnderTest>('CrmDeviceCategoriesPort', deviceCategoriesTests);

/** What every CrmDeviceDataPort adapter must do: pulled device data kept per device, newest first. */
export const crmDeviceDataConformance = roleConformance<CrmDeviceDataUnderTest>('CrmDeviceDataPort', deviceDataTests);

/** What every CrmSettingsPort adapter must do: the command property names of the IoT settings record, CFS's defaults where it has none. */
export const crmSettingsConformance = roleConformance<CrmSettingsUnderTest>('CrmSettingsPort', settingsTests);

/** The whole gateway as every role's harness: it makes the related records itself. */
const asEveryRole = (h: CrmGatewayUnderTest) => ({
  crm: h.crm,
  related: h.crm,
  advanceTime: (ms: number) => h.advanceTime(ms),
  setIoTSettings: h.setIoTSettings.bind(h),
  defineDeviceCategory: h.defineDeviceCategory.bind(h),
  dispose: () => h.dispose(),
});

/**
 * What every CrmGatewayPort adapter must do, as the flows rely on it: every role's suite on one
 * adapter. Records read back as written, idempotent creation (alert by token, case and work
 * order per alert, command by the id given), registration results written onto the device,
 * "newest first" listings, and device ids containing `'` (legal on the hub) treated as plain
 * data, never as query syntax.
 */
export function crmGatewayConformance(adapterName: string, factory: CrmGatewayFactory): void {
  describe(`${adapterName} conforms to CrmGatewayPort`, () => {
    const open = opener(async () => asEveryRole(await factory()));
    devicesTests(open);
    alertsTests(open);
    commandsTests(open);
    workTests(open);
    deviceCategoriesTests(open);
    deviceDataTests(open);
    settingsTests(open);
  });
}
