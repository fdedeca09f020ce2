import { aCrmDevice, buildDeviceUpdatedContext, buildPullDeviceDataContext } from '@fieldlink/ports/testing';
import { readFileSync } from 'node:fs';
import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, CfsCommandStatus, RegistrationStatus } from '@fieldlink/domain';
import { encodeRemoteExecutionContext, silentLog, type CloudToDevicePort } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from '../commands/command-catalog.js';
import { CommandDispatch } from '../commands/command-dispatch.js';
import { broadcastMessageId } from '../commands/command-message-id.js';
import { DeviceDataPull } from '../device-data/device-data-pull.js';
import { DeviceRegistrations } from '../registration/device-registration.js';
import { OutboundMessages } from './outbound-messages.js';
import { QueueProcessor } from '../shared/queue-processor.js';
import { FaultSchedule } from '../testing/fault-injection.js';

const cfs = (name: string): string => readFileSync(new URL(`../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8');
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const T = 1_795_857_302_113;
const COMMAND_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
let hubs: InMemoryCloudToDevice[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

const setup = async (wrapCloudToDevice: (c: CloudToDevicePort) => CloudToDevicePort = (c) => c) => {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0 });
  hubs.push(hub);
  const cloudToDevice = wrapCloudToDevice(hub);
  const log = silentLog;
  const dispatch = new CommandDispatch({
    crm,
    cloudToDevice,
    registry,
    catalog: deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES),
    log,
    defaultDeviceType: 'Thermostat',
  });
  const outbound = new OutboundMessages({
    crm,
    registry,
    dispatch,
    registrations: new DeviceRegistrations({ crm, registry, log }),
    dataPull: new DeviceDataPull({ crm, registry, log }),
    log,
  });
  const queue = new InMemoryQueue('outbound', { clock });
  const processor = new QueueProcessor(queue, (m) => outbound.handle(m), log);
  const received: string[] = [];
  const deliver = async (id: string, body: string | Uint8Array): Promise<void> => {
    await queue.send([{ messageId: id, body: typeof body === 'string' ? encode(body) : body }]);
    await processor.drainOnce();
    await new Promise<void>((r) => setImmediate(r));
  };
  return { crm, registry, hub, queue, processor, deliver, received };
};

const withDevice = async (s: Awaited<ReturnType<typeof setup>>) => {
  await s.registry.registerDevices([{ deviceId: 'thermostat-1' }]);
  await s.crm.upsertDevice(aCrmDevice({ deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6', deviceId: 'thermostat-1' }));
  s.hub.attach('thermostat-1', async (m) => {
    s.received.push(`${m.messageId} ${new TextDecoder().decode(m.body)}`);
    return 'complete';
  });
};

describe('OutboundMessages', () => {
  it('sends the command of the CFS Create fixture to the device (body = msdyn_message, id = command id) and writes Sent', async () => {
    const s = await setup();
    await withDevice(s);
    await s.deliver('m1', cfs('remote-execution-context.create-command.json'));
    expect(s.received).toEqual([`${COMMAND_ID} {"CommandName":"Reset Thermostat","Parameters":{}}`]);
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({
      state: 'sent',
      cfsStatus: CfsCommandStatus.Sent,
      deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
    });
    expect(s.queue.activeCount).toBe(0);
  });

  it('sends a command once however often its message is delivered', async () => {
    const s = await setup();
    await withDevice(s);
    await s.deliver('m1', cfs('remote-execution-context.create-command.json'));
    await s.deliver('m2', cfs('remote-execution-context.create-command.json'));
    expect(s.received).toHaveLength(1);
  });

  it('refuses a command its device type does not know, writing Error with the reason, and sends nothing', async () => {
    const s = await setup();
    await withDevice(s);
    const body = cfs('remote-execution-context.create-command.json').replace(
      '{\\"CommandName\\":\\"Reset Thermostat\\",\\"Parameters\\":{}}',
      '{\\"CommandName\\":\\"Open Valve\\",\\"Parameters\\":{}}',
    );
    await s.deliver('m1', body);
    expect(s.received).toEqual([]);
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({
      state: 'failed',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: expect.stringContaining('"Open Valve" is not a command of Thermostat'),
    });
    expect(s.queue.activeCount).toBe(0);
    expect(await s.queue.peekDeadLetters(10)).toEqual([]);
  });

  it('abandons when the hub fails, and sends the command when the message comes back', async () => {
    const faults = new FaultSchedule(new Map([[1, 'before']]));
    const s = await setup((c) => faults.wrap(c, 'cloudToDevice', ['send']));
    await withDevice(s);
    await s.deliver('m1', cfs('remote-execution-context.create-command.json'));
    expect(s.queue.activeCount).toBe(1);
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({ state: 'requested' });
    await s.processor.drainOnce();
    await new Promise<void>((r) => setImmediate(r));
    expect(s.received).toHaveLength(1);
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({ state: 'sent' });
  });

  it('registers the devices of the CFS register fixture and writes Registered with the device id back to the CRM', async () => {
    const s = await setup();
    for (const [deviceRecordId, name] of [
      ['d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6', 'Lobby thermostat'],
      ['0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 'Server room thermostat'],
    ] as const) {
      await s.crm.upsertDevice(aCrmDevice({ deviceRecordId, deviceId: '', name, registrationStatus: RegistrationStatus.InProgress }));
    }
    await s.deliver('m1', cfs('remote-execution-context.register-devices.json'));
    expect(await s.registry.getTwin('thermostat-2')).toMatchObject({ status: 'enabled', tags: { site: 'server-room' }, desired: { TargetTemperature: 18 } });
    expect(await s.crm.getDevice('d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6')).toMatchObject({
      deviceId: 'thermostat-1',
      registrationStatus: RegistrationStatus.Registered,
      registrationMessage: 'Registered',
    });
    expect(await s.crm.getDevice('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toMatchObject({
      deviceId: 'thermostat-2',
      registrationStatus: RegistrationStatus.Registered,
    });
    expect(s.queue.activeCount).toBe(0);
  });

  it('dead-letters a registration for device records the CRM does not have, naming them, and writes the results of the others', async () => {
    const s = await setup();
    await s.crm.upsertDevice(
      aCrmDevice({
        deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
        deviceId: '',
        name: 'Lobby thermostat',
        registrationStatus: RegistrationStatus.InProgress,
      }),
    );
    await s.deliver('m1', cfs('remote-execution-context.register-devices.json'));
    expect(await s.queue.peekDeadLetters(1)).toMatchObject([
      { messageId: 'm1', reason: 'DeviceNotFound', description: expect.stringContaining('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d') },
    ]);
    expect(await s.crm.getDevice('d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6')).toMatchObject({
      deviceId: 'thermostat-1',
      registrationStatus: RegistrationStatus.Registered,
    });
  });

  it('sends a Create with msdyn_sendtoallconnecteddevices to each connected device under its own message id, once however often it is delivered', async () => {
    const s = await setup();
    await withDevice(s);
    await s.registry.registerDevices([{ deviceId: 'thermostat-2' }, { deviceId: 'thermostat-3' }]);
    await s.crm.upsertDevice(aCrmDevice({ deviceRecordId: 'd2', deviceId: 'thermostat-2', name: 'Roof thermostat' }));
    await s.crm.upsertDevice(aCrmDevice({ deviceRecordId: 'd3', deviceId: 'thermostat-3', name: 'Offline thermostat' }));
    s.hub.attach('thermostat-2', async (m) => {
      s.received.push(`${m.messageId} ${new TextDecoder().decode(m.body)}`);
      return 'complete';
    });
    s.registry.setConnectionState('thermostat-1', 'Connected');
    s.registry.setConnectionState('thermostat-2', 'Connected');
    const toAll = cfs('remote-execution-context.create-command.json').replace(
      '{"key": "msdyn_deviceid", "value": "thermostat-1"},',
      '{"key": "msdyn_sendtoallconnecteddevices", "value": true},',
    );
    expect(toAll).toContain('msdyn_sendtoallconnecteddevices');
    await s.deliver('m1', toAll);
    await s.deliver('m2', toAll);
    const body = '{"CommandName":"Reset Thermostat","Parameters":{}}';
    expect(s.received.sort()).toEqual(
      [`${broadcastMessageId(COMMAND_ID, 'thermostat-1')} ${body}`, `${broadcastMessageId(COMMAND_ID, 'thermostat-2')} ${body}`].sort(),
    );
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({
      state: 'sent',
      cfsStatus: CfsCommandStatus.Sent,
      sendToAllConnectedDevices: true,
      statusReason: 'Sent to all 2 connected devices',
    });
    expect(s.queue.activeCount).toBe(0);
  });

  it('applies an Update of a device to its twin: settings to desired properties, tags to tags', async () => {
    const s = await setup();
    await withDevice(s);
    const ctx = buildDeviceUpdatedContext({
      deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
      deviceId: 'thermostat-1',
      tags: { site: 'lobby' },
      settings: { TargetTemperature: 19 },
    });
    await s.deliver('m1', encodeRemoteExecutionContext(ctx));
    expect(await s.registry.getTwin('thermostat-1')).toMatchObject({ tags: { site: 'lobby' }, desired: { TargetTemperature: 19 } });
  });

  it('dead-letters an Update for a device the hub does not know', async () => {
    const s = await setup();
    await s.deliver('m1', encodeRemoteExecutionContext(buildDeviceUpdatedContext({ deviceRecordId: 'r', deviceId: 'ghost', tags: { a: 1 } })));
    expect(await s.queue.peekDeadLetters(1)).toMatchObject([{ reason: 'RegistryDeviceNotFound' }]);
  });

  it('records pulled device data once per request, however often it is delivered', async () => {
    const s = await setup();
    await withDevice(s);
    s.registry.patchReported('thermostat-1', { firmware: '1.2' });
    const body = encodeRemoteExecutionContext(buildPullDeviceDataContext([{ deviceId: 'thermostat-1' }], { operationCreatedOn: T + 5 }));
    await s.deliver('m1', body);
    await s.deliver('m2', body);
    expect(await s.crm.listDeviceDataHistory('thermostat-1')).toEqual([
      {
        deviceId: 'thermostat-1',
        deviceRecordId: 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6',
        connectionState: 'Disconnected',
        lastActivityTime: T,
        reportedProperties: '{"firmware":"1.2"}',
        recordedOn: T + 5,
      },
    ]);
  });

  it('dead-letters what is not a RemoteExecutionContext, and what it does not route, naming the problem', async () => {
    const s = await setup();
    await s.deliver('not-json', '{"MessageName":');
    const other = JSON.parse(cfs('remote-execution-context.create-command.json')) as Record<string, unknown>;
    await s.deliver('delete', JSON.stringify({ ...other, MessageName: 'Delete' }));
    const dead = await s.queue.peekDeadLetters(10);
    expect(dead.map((d) => [d.messageId, d.reason])).toEqual([
      ['not-json', 'InvalidRemoteExecutionContext'],
      ['delete', 'UnsupportedOutboundMessage'],
    ]);
    expect(dead[1]!.description).toContain('"Delete" of "msdyn_iotdevicecommand" is not an outbound message');
  });
});
