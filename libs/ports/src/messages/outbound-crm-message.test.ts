import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergePatchBetween } from '../codec/json-merge-patch.js';
import {
  buildCommandCreatedContext,
  buildDeviceUpdatedContext,
  buildPullDeviceDataContext,
  buildRegisterDevicesContext,
} from '../testing/outbound-context-builders.js';
import {
  flattenTarget,
  readCommandCreated,
  readDeviceUpdated,
  readOutboundCrmMessage,
  readPullDeviceData,
  readRegisterDevices,
} from './outbound-crm-message.js';
import {
  decodeRemoteExecutionContext,
  encodeRemoteExecutionContext,
  toRemoteExecutionContextJson,
  type RemoteExecutionContext,
} from './remote-execution-context.js';

const fixtureText = (name: string): string => readFileSync(new URL(`../../../../fixtures/cfs/remote-execution-context.${name}.json`, import.meta.url), 'utf8');
const fixture = (name: string): RemoteExecutionContext => {
  const r = decodeRemoteExecutionContext(fixtureText(name));
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
/** Through the wire and back, as the orchestrator would receive it. */
const viaWire = (ctx: RemoteExecutionContext): RemoteExecutionContext => {
  const r = decodeRemoteExecutionContext(encodeRemoteExecutionContext(ctx));
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const withInput = (ctx: RemoteExecutionContext, input: Record<string, string>): RemoteExecutionContext => ({
  ...ctx,
  inputParameters: { ...ctx.inputParameters, ...input },
});

describe('Create of msdyn_iotdevicecommand', () => {
  const expected = {
    commandId: 'c0ffee00-1234-4abc-8def-0123456789ab',
    name: 'Reset Thermostat',
    message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
    deviceId: 'thermostat-1',
    deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
    sendToAllConnectedDevices: false,
    createdOn: 1795857302113,
  };

  it('reads the command of the CFS fixture', () => {
    expect(readCommandCreated(fixture('create-command'))).toEqual({ ok: true, value: expected });
    expect(readOutboundCrmMessage(fixture('create-command'))).toEqual({ ok: true, value: { kind: 'command-created', command: expected } });
  });

  it('builds the same message as the fixture from the command and its envelope', () => {
    const f = fixture('create-command');
    const built = buildCommandCreatedContext(expected, {
      correlationId: f.correlationId!,
      operationId: f.operationId!,
      requestId: f.requestId!,
      businessUnitId: f.businessUnitId!,
      organizationId: f.organizationId!,
      organizationName: 'contoso',
      userId: f.userId!,
      operationCreatedOn: f.operationCreatedOn!,
    });
    const json = toRemoteExecutionContextJson(built) as Record<string, unknown>;
    const want = JSON.parse(fixtureText('create-command')) as Record<string, unknown>;
    // The step's own id is the only thing a builder cannot know.
    expect({ ...json, OwningExtension: undefined }).toEqual({ ...want, OwningExtension: undefined });
    expect(readCommandCreated(viaWire(built))).toEqual({ ok: true, value: expected });
  });

  it('reads a command with a device reference, asset, parent alert and a quote in the device id', () => {
    const command = {
      commandId: 'c1',
      name: 'Set Values',
      message: '{"CommandName":"Set Values","Parameters":{}}',
      deviceId: "o'brien-1",
      deviceRecordId: 'd1',
      customerAssetId: 'a1',
      parentAlertId: 'al1',
      sendToAllConnectedDevices: false,
    };
    expect(readCommandCreated(viaWire(buildCommandCreatedContext(command)))).toEqual({ ok: true, value: command });
  });

  it('reads a message text that looks like a WCF date as the text it is', () => {
    const command = { commandId: 'c2', name: 'Odd', message: '/Date(5)/', deviceId: 'd', sendToAllConnectedDevices: false };
    expect(readCommandCreated(viaWire(buildCommandCreatedContext(command)))).toEqual({ ok: true, value: command });
  });

  it('names what is missing', () => {
    const f = fixture('create-command');
    const target = f.inputParameters['Target'] as { attributes: Record<string, unknown> };
    const broken = {
      ...f,
      inputParameters: { Target: { ...target, attributes: { msdyn_name: 'x', msdyn_device: 'not a reference' } } },
    } as unknown as RemoteExecutionContext;
    const result = readCommandCreated(broken);
    expect(!result.ok && result.error.map((i) => i.path)).toEqual([
      'InputParameters.Target.Attributes.msdyn_message',
      'InputParameters.Target.Attributes.msdyn_device',
      'InputParameters.Target.Attributes.msdyn_deviceid',
    ]);
    expect(readCommandCreated({ ...f, messageName: 'Delete', inputParameters: {} })).toMatchObject({
      ok: false,
      error: [{ path: 'MessageName' }, { path: 'InputParameters.Target' }],
    });
  });
});

describe('msdyn_RegisterIoTDevice', () => {
  const expected = [
    {
      deviceId: 'thermostat-1',
      deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
      name: 'Lobby thermostat',
      tags: { site: 'lobby' },
      settings: { TargetTemperature: 21 },
    },
    {
      deviceId: 'thermostat-2',
      deviceRecordId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      name: 'Server room thermostat',
      tags: { site: 'server-room' },
      settings: { TargetTemperature: 18 },
    },
  ];

  it('reads one register request per device from the CFS fixture', () => {
    expect(readRegisterDevices(fixture('register-devices'))).toEqual({ ok: true, value: expected });
    expect(readOutboundCrmMessage(fixture('register-devices'))).toMatchObject({ ok: true, value: { kind: 'register-devices' } });
  });

  it('builds the fixture message from the requests', () => {
    const f = fixture('register-devices');
    const built = buildRegisterDevicesContext(expected, {
      correlationId: f.correlationId!,
      operationId: f.operationId!,
      requestId: f.requestId!,
      businessUnitId: f.businessUnitId!,
      organizationId: f.organizationId!,
      organizationName: 'contoso',
      userId: f.userId!,
      operationCreatedOn: f.operationCreatedOn!,
    });
    // The fixture names the plug-in step that posted it; a built context has no step.
    const { OwningExtension: _step, ...posted } = JSON.parse(fixtureText('register-devices')) as Record<string, unknown>;
    expect(toRemoteExecutionContextJson(built)).toEqual(posted);
  });

  it('splits tags and settings outside JSON strings, so commas inside them are data', () => {
    const devices = [
      { deviceId: "o'brien-1", deviceRecordId: 'r1', name: 'A', tags: { site: 'lobby, east', list: [1, 2] }, settings: { note: '},{' } },
      { deviceId: 'b', deviceRecordId: 'r2', name: 'B' },
    ];
    expect(readRegisterDevices(viaWire(buildRegisterDevicesContext(devices)))).toEqual({
      ok: true,
      value: [devices[0], { ...devices[1], tags: {}, settings: {} }],
    });
  });

  it('refuses a device id list whose length differs from the record ids, as a comma in an id would make it', () => {
    const ctx = withInput(fixture('register-devices'), { DeviceIds: 'thermo,stat-1,thermostat-2' });
    expect(readRegisterDevices(ctx)).toMatchObject({
      ok: false,
      error: [{ path: 'InputParameters.DeviceIds', message: expect.stringContaining('3 values for 2 devices') }],
    });
  });

  it('routes a request whose id or name list holds a comma as ambiguous, with the record ids, lists, tags and settings it still splits', () => {
    const ctx = withInput(fixture('register-devices'), { DeviceIds: 'thermo,stat-1,thermostat-2', IoTDeviceNames: 'Lobby, east,Server room' });
    expect(readOutboundCrmMessage(ctx)).toEqual({
      ok: true,
      value: {
        kind: 'register-devices',
        devices: [],
        ambiguous: {
          kind: 'ambiguous',
          deviceRecordIds: ['d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
          deviceIdsText: 'thermo,stat-1,thermostat-2',
          namesText: 'Lobby, east,Server room',
          mismatched: [
            { parameter: 'DeviceIds', values: 3 },
            { parameter: 'IoTDeviceNames', values: 3 },
          ],
          tags: [{ site: 'lobby' }, { site: 'server-room' }],
          settings: [{ TargetTemperature: 21 }, { TargetTemperature: 18 }],
        },
      },
    });
  });

  it('names the tags entry that is not a JSON object, and missing parameters', () => {
    expect(readRegisterDevices(withInput(fixture('register-devices'), { IoTDeviceTags: '{"site":"lobby"},{"site":' }))).toMatchObject({
      ok: false,
      error: [{ path: 'InputParameters.IoTDeviceTags.1' }],
    });
    expect(readRegisterDevices({ ...fixture('register-devices'), inputParameters: {} })).toMatchObject({
      ok: false,
      error: [{ path: 'InputParameters.DeviceIds' }, { path: 'InputParameters.IoTDeviceIds' }],
    });
  });

  it('leaves an invalid hub id to the registry, so one bad device does not fail the others', () => {
    const result = readRegisterDevices(withInput(fixture('register-devices'), { DeviceIds: 'has space,thermostat-2' }));
    expect(result.ok && result.value.map((d) => d.deviceId)).toEqual(['has space', 'thermostat-2']);
  });
});

describe('Update of msdyn_iotdevice', () => {
  it('turns changed tags and settings into a twin patch, removed keys as null', () => {
    const ctx = viaWire(
      buildDeviceUpdatedContext({
        deviceRecordId: 'r1',
        deviceId: "o'brien-1",
        tags: { site: 'roof' },
        settings: { TargetTemperature: 19, Fan: { speed: 1 } },
        previous: { tags: { site: 'lobby', floor: 1 }, settings: { TargetTemperature: 21, Fan: { speed: 2, mode: 'auto' } } },
      }),
    );
    expect(readDeviceUpdated(ctx)).toEqual({
      ok: true,
      value: {
        deviceRecordId: 'r1',
        deviceId: "o'brien-1",
        patch: { tags: { site: 'roof', floor: null }, desiredProperties: { TargetTemperature: 19, Fan: { speed: 1, mode: null } } },
      },
    });
    expect(readOutboundCrmMessage(ctx)).toMatchObject({ ok: true, value: { kind: 'device-updated' } });
  });

  it('without a pre-image, patches with the new values; an untouched column is left out', () => {
    expect(readDeviceUpdated(viaWire(buildDeviceUpdatedContext({ deviceRecordId: 'r1', deviceId: 'd1', tags: { site: 'roof' } })))).toEqual({
      ok: true,
      value: { deviceRecordId: 'r1', deviceId: 'd1', patch: { tags: { site: 'roof' } } },
    });
    expect(readDeviceUpdated(viaWire(buildDeviceUpdatedContext({ deviceRecordId: 'r1', deviceId: 'd1', name: 'renamed' })))).toEqual({
      ok: true,
      value: { deviceRecordId: 'r1', deviceId: 'd1', patch: {} },
    });
  });

  it('names settings that are not a JSON object, and a missing device id', () => {
    const ctx = buildDeviceUpdatedContext({ deviceRecordId: 'r1', deviceId: 'd1' });
    const broken: RemoteExecutionContext = {
      ...ctx,
      postEntityImages: {},
      inputParameters: { Target: { kind: 'Entity', logicalName: 'msdyn_iotdevice', id: 'r1', attributes: { msdyn_devicesettings: '[1]' } } },
    };
    expect(readDeviceUpdated(broken)).toMatchObject({
      ok: false,
      error: [
        { path: 'InputParameters.Target.Attributes.msdyn_deviceid' },
        { path: 'InputParameters.Target.Attributes.msdyn_devicesettings', message: 'expected a JSON object' },
      ],
    });
  });
});

describe('msdyn_PullDataForIoTDevice', () => {
  it('reads the devices and when it was asked', () => {
    const ctx = viaWire(
      buildPullDeviceDataContext(
        [
          { deviceId: "o'brien-1", deviceRecordId: 'r1' },
          { deviceId: 'd2', deviceRecordId: 'r2' },
        ],
        { operationCreatedOn: 1795857402200 },
      ),
    );
    expect(readPullDeviceData(ctx)).toEqual({
      ok: true,
      value: {
        devices: [
          { deviceId: "o'brien-1", deviceRecordId: 'r1' },
          { deviceId: 'd2', deviceRecordId: 'r2' },
        ],
        requestedOn: 1795857402200,
      },
    });
    expect(readOutboundCrmMessage(ctx)).toMatchObject({ ok: true, value: { kind: 'pull-device-data' } });
  });

  it('reads device ids alone, and refuses an empty list', () => {
    expect(readPullDeviceData(viaWire(buildPullDeviceDataContext([{ deviceId: 'd1' }])))).toEqual({ ok: true, value: { devices: [{ deviceId: 'd1' }] } });
    expect(readPullDeviceData(buildPullDeviceDataContext([]))).toMatchObject({ ok: false, error: [{ path: 'InputParameters.DeviceIds' }] });
  });
});

describe('readOutboundCrmMessage', () => {
  it('refuses a message it does not route, naming it', () => {
    expect(readOutboundCrmMessage({ ...fixture('create-command'), messageName: 'Delete' })).toMatchObject({
      ok: false,
      error: [{ path: 'MessageName', message: expect.stringContaining('"Delete" of "msdyn_iotdevicecommand"') }],
    });
  });
});

describe('mergePatchBetween', () => {
  it('gives nothing for equal documents, nulls for removed keys, and values for changed ones', () => {
    expect(mergePatchBetween({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [1] } })).toEqual({});
    expect(mergePatchBetween({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 3, d: 2 }, e: [1] })).toEqual({ a: null, b: { c: 3 }, e: [1] });
  });
});

describe('routing as the CFS "CRM to IoT" Logic App', () => {
  it('compares message and entity names case-insensitively', () => {
    const ctx = fixture('create-command');
    expect(readOutboundCrmMessage({ ...ctx, messageName: 'CREATE' })).toMatchObject({ ok: true, value: { kind: 'command-created' } });
    expect(readOutboundCrmMessage({ ...fixture('register-devices'), messageName: 'msdyn_registeriotdevice' })).toMatchObject({
      ok: true,
      value: { kind: 'register-devices' },
    });
  });

  it('flattens the Target to {id, logicalName, attributes, preImageAttributes}', () => {
    const update = buildDeviceUpdatedContext({ deviceRecordId: 'r1', deviceId: 'thermostat-1', settings: { T: 19 }, previous: { settings: { T: 21 } } });
    const flat = flattenTarget(update);
    expect(flat).toMatchObject({
      id: 'r1',
      logicalName: 'msdyn_iotdevice',
      attributes: { msdyn_devicesettings: '{"T":19}' },
      preImageAttributes: { msdyn_devicesettings: '{"T":21}' },
    });
    expect(flattenTarget({ ...update, inputParameters: { Target: { kind: 'EntityReference', logicalName: 'msdyn_iotdevice', id: 'r2' } } })).toEqual({
      id: 'r2',
      logicalName: 'msdyn_iotdevice',
      attributes: {},
      preImageAttributes: flat!.preImageAttributes,
    });
    expect(flattenTarget(fixture('register-devices'))).toBeUndefined();
  });
});
