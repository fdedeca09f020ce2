// The outbound flow against messages as a Dataverse service endpoint posts them: Json and Text XML
// (each possibly base64), Binary XML refused with the setting to change, stripped contexts re-read
// from the CRM, message names in any case, the organisation's command property names, and a
// registration whose lists cannot be split by position (a comma in a name or id).
import { aCrmDevice, buildRegisterDevicesContext } from '@fieldlink/ports/testing';
import { readFileSync } from 'node:fs';
import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, CfsCommandStatus, RegistrationStatus } from '@fieldlink/domain';
import {
  decodeRemoteExecutionContext,
  encodeRemoteExecutionContext,
  serviceEndpointQueueMessage,
  ServiceEndpointMessageFormat,
  silentLog,
  type QueueMessage,
  type RemoteExecutionContext,
} from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from '../commands/command-catalog.js';
import { CommandDispatch } from '../commands/command-dispatch.js';
import { DeviceDataPull } from '../device-data/device-data-pull.js';
import { DeviceRegistrations } from '../registration/device-registration.js';
import { OutboundMessages } from './outbound-messages.js';
import { QueueProcessor } from '../shared/queue-processor.js';

const fixture = (name: string, ext: 'json' | 'xml'): Buffer =>
  readFileSync(new URL(`../../../../fixtures/cfs/remote-execution-context.${name}.${ext}`, import.meta.url));
const context = (name: string): RemoteExecutionContext => {
  const r = decodeRemoteExecutionContext(fixture(name, 'json'));
  if (!r.ok) throw new Error(name);
  return r.value;
};
const T = 1_795_857_302_113;
const COMMAND_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
const DEVICE_RECORD = 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6';
const identity = { organizationUri: 'https://contoso.crm.dynamics.com', userId: 'u', initiatingUserId: 'u' };
let hubs: InMemoryCloudToDevice[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

async function setup() {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0 });
  hubs.push(hub);
  const log = silentLog;
  const dispatch = new CommandDispatch({
    crm,
    cloudToDevice: hub,
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
  await registry.registerDevices([{ deviceId: 'thermostat-1' }]);
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: DEVICE_RECORD, deviceId: 'thermostat-1', tags: { site: 'lobby' }, settings: { TargetTemperature: 19 } }));
  hub.attach('thermostat-1', async (m) => {
    received.push(new TextDecoder().decode(m.body));
    return 'complete';
  });
  const deliver = async (message: Omit<QueueMessage, 'messageId'>): Promise<void> => {
    await queue.send([{ messageId: `m-${Math.random()}`, ...message }]);
    await processor.drainOnce();
    await new Promise<void>((r) => setImmediate(r));
  };
  const deadLetters = async () => (await queue.peekDeadLetters(10)).map((d) => ({ reason: d.reason, description: d.description }));
  return { crm, registry, queue, deliver, received, deadLetters };
}

const posted = (ctx: RemoteExecutionContext, format: ServiceEndpointMessageFormat, maxBytes?: number): QueueMessage => {
  const m = serviceEndpointQueueMessage(ctx, format, identity, 'm', maxBytes);
  if (!m.ok) throw new Error(m.error.message);
  return m.value;
};

describe('OutboundMessages on service endpoint messages', () => {
  it.each([
    ['Json', 'json', 'application/json'],
    ['Text XML', 'xml', 'application/xml'],
  ] as const)('sends the command of the Create fixture in %s, plain or base64, and writes Sent', async (_label, ext, contentType) => {
    for (const base64 of [false, true]) {
      const s = await setup();
      const body = base64 ? new TextEncoder().encode(fixture('create-command', ext).toString('base64')) : fixture('create-command', ext);
      await s.deliver({ body, contentType });
      expect(await s.deadLetters()).toEqual([]);
      expect(s.received).toEqual(['{"CommandName":"Reset Thermostat","Parameters":{}}']);
      expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({ state: 'sent', cfsStatus: CfsCommandStatus.Sent });
    }
  });

  it('applies the Update fixture in Text XML to the twin (pre-image → merge patch)', async () => {
    const s = await setup();
    await s.deliver({ body: fixture('update-device', 'xml'), contentType: 'application/xml' });
    expect(await s.deadLetters()).toEqual([]);
    expect(await s.registry.getTwin('thermostat-1')).toMatchObject({ desired: { TargetTemperature: 19 } });
  });

  it('routes message names in any case, as the Logic App compares them', async () => {
    const s = await setup();
    const ctx = context('create-command');
    await s.deliver({
      body: encodeRemoteExecutionContext({ ...ctx, messageName: 'create', primaryEntityName: 'msdyn_IoTDeviceCommand' }),
      contentType: 'application/json',
    });
    expect(await s.deadLetters()).toEqual([]);
    expect(s.received).toHaveLength(1);
  });

  it('dead-letters Binary XML with a reason naming the Message Format setting of the endpoint, and sends nothing', async () => {
    const s = await setup();
    await s.deliver(posted(context('create-command'), ServiceEndpointMessageFormat.BinaryXml));
    expect(await s.deadLetters()).toEqual([{ reason: 'BinaryXmlNotSupported', description: expect.stringMatching(/Message Format to Json \(or XML\)/) }]);
    expect(s.received).toEqual([]);
  });

  it('re-reads the command from the CRM when the endpoint stripped the Create (MessageMaxSizeExceeded)', async () => {
    const s = await setup();
    await s.crm.createCommand({
      commandId: COMMAND_ID,
      name: 'Reset Thermostat',
      message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
      deviceId: 'thermostat-1',
      deviceRecordId: DEVICE_RECORD,
    });
    const ctx = context('create-command');
    const big = { ...ctx, inputParameters: { ...ctx.inputParameters, Filler: 'x'.repeat(200_000) } };
    const message = posted(big, ServiceEndpointMessageFormat.TextXml);
    expect(message.properties?.['MessageMaxSizeExceeded']).toBe(true);
    await s.deliver(message);
    expect(await s.deadLetters()).toEqual([]);
    expect(s.received).toEqual(['{"CommandName":"Reset Thermostat","Parameters":{}}']);
    expect(await s.crm.getCommand(COMMAND_ID)).toMatchObject({ state: 'sent' });
  });

  it('re-reads the device when the endpoint stripped an Update, and puts its tags and settings into the twin', async () => {
    const s = await setup();
    const ctx = context('update-device');
    await s.deliver(posted({ ...ctx, inputParameters: { ...ctx.inputParameters, Filler: 'x'.repeat(200_000) } }, ServiceEndpointMessageFormat.Json));
    expect(await s.deadLetters()).toEqual([]);
    expect(await s.registry.getTwin('thermostat-1')).toMatchObject({ tags: { site: 'lobby' }, desired: { TargetTemperature: 19 } });
  });

  it('dead-letters a stripped registration, whose device lists no record holds, saying so', async () => {
    const s = await setup();
    const ctx = context('register-devices');
    await s.deliver(posted({ ...ctx, inputParameters: { ...ctx.inputParameters, Filler: 'x'.repeat(200_000) } }, ServiceEndpointMessageFormat.Json));
    expect(await s.deadLetters()).toEqual([{ reason: 'ContextStripped', description: expect.stringContaining('MessageMaxSizeExceeded') }]);
  });

  it("checks a command under the organisation's command property names (msdyn_iotsettings)", async () => {
    const s = await setup();
    s.crm.setIoTSettings({ commandNameProperty: 'cmd', commandParametersProperty: 'args' });
    const ctx = context('create-command');
    const target = ctx.inputParameters['Target'] as Extract<RemoteExecutionContext['inputParameters'][string], { kind: 'Entity' }>;
    const message = '{"cmd":"Reset Thermostat","args":{}}';
    await s.deliver({
      body: encodeRemoteExecutionContext({ ...ctx, inputParameters: { Target: { ...target, attributes: { ...target.attributes, msdyn_message: message } } } }),
      contentType: 'application/json',
    });
    expect(await s.deadLetters()).toEqual([]);
    // Sent as written: the device reads the organisation's names.
    expect(s.received).toEqual([message]);
    // Under the default names the same message is refused, with the reason on the command.
    s.crm.setIoTSettings({});
    const second = 'd0d0d0d0-1234-4abc-8def-0123456789ab';
    await s.deliver({
      body: encodeRemoteExecutionContext({
        ...ctx,
        primaryEntityId: second,
        inputParameters: { Target: { ...target, id: second, attributes: { ...target.attributes, msdyn_iotdevicecommandid: second, msdyn_message: message } } },
      }),
      contentType: 'application/json',
    });
    expect(await s.crm.getCommand(second)).toMatchObject({
      state: 'failed',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: expect.stringContaining('CommandName'),
    });
  });
});

describe('msdyn_RegisterIoTDevice with a comma in a device name or id (issue: not dead-lettered whole)', () => {
  const devices = [
    { deviceRecordId: '11111111-1111-4111-8111-111111111111', deviceId: 'hall-1', name: 'Hall, east wing' },
    { deviceRecordId: '22222222-2222-4222-8222-222222222222', deviceId: 'hall,2', name: 'Hall west' },
    { deviceRecordId: '33333333-3333-4333-8333-333333333333', deviceId: 'hall-3', name: 'Roof' },
  ];

  it('registers each device whose id is located in the lists and writes Error naming the cause on the others', async () => {
    const s = await setup();
    for (const d of devices) await s.crm.upsertDevice({ ...d, deviceType: 'Thermostat', registrationStatus: RegistrationStatus.InProgress });
    // The CRM record of the second device no longer matches what the request says (renamed since): it cannot be located.
    await s.crm.upsertDevice({ ...devices[1]!, deviceId: 'hall,2b', deviceType: 'Thermostat', registrationStatus: RegistrationStatus.InProgress });
    await s.deliver({
      body: encodeRemoteExecutionContext(buildRegisterDevicesContext(devices.map((d) => ({ ...d, tags: { name: d.name } })))),
      contentType: 'application/json',
    });
    expect(await s.deadLetters()).toEqual([]);
    expect(await s.registry.getTwin('hall-1')).toMatchObject({ tags: { name: 'Hall, east wing' } });
    expect(await s.registry.getTwin('hall-3')).toMatchObject({ tags: { name: 'Roof' } });
    expect(await s.crm.getDevice(devices[0]!.deviceRecordId)).toMatchObject({ registrationStatus: RegistrationStatus.Registered });
    expect(await s.crm.getDevice(devices[2]!.deviceRecordId)).toMatchObject({ registrationStatus: RegistrationStatus.Registered });
    const refused = await s.crm.getDevice(devices[1]!.deviceRecordId);
    expect(refused).toMatchObject({
      deviceId: 'hall,2b',
      registrationStatus: RegistrationStatus.Error,
      registrationMessage: expect.stringMatching(/DeviceIds holds 4 values for 3 devices.*comma.*"hall,2b" could not be located/),
    });
    expect(await s.registry.getTwin('hall,2b').catch(() => undefined)).toBeUndefined();
  });

  it('registers every device when the CRM records, joined, reproduce the lists (commas inside values and all)', async () => {
    const s = await setup();
    for (const d of devices) await s.crm.upsertDevice({ ...d, deviceType: 'Thermostat', registrationStatus: RegistrationStatus.InProgress });
    await s.deliver({ body: encodeRemoteExecutionContext(buildRegisterDevicesContext(devices)), contentType: 'application/json' });
    expect(await s.deadLetters()).toEqual([]);
    for (const d of devices)
      expect(await s.crm.getDevice(d.deviceRecordId)).toMatchObject({ deviceId: d.deviceId, registrationStatus: RegistrationStatus.Registered });
    expect(await s.registry.getTwin('hall,2')).toMatchObject({ deviceId: 'hall,2' });
  });
});
