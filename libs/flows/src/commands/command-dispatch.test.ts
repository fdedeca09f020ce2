import {
  InMemoryCloudToDevice,
  InMemoryCrm,
  InMemoryDeviceRegistry,
  InMemoryRejectedTelemetry,
  ManualClock,
  SequentialIds,
} from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, CfsCommandStatus, err, type Result } from '@fieldlink/domain';
import {
  silentLog,
  type CloudToDeviceError,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type LogFields,
  type LogPort,
  type TelemetryEnvelope,
} from '@fieldlink/ports';
import { aCrmDevice, eventually } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { commandAckField, CommandAcknowledgements } from './command-acknowledgements.js';
import { deviceTypeCommandCatalog } from './command-catalog.js';
import { CommandDispatch } from './command-dispatch.js';
import { CommandFeedback } from './command-feedback.js';
import { broadcastMessageId, commandOfMessage } from './command-message-id.js';
import { commandRemovedBeforeStatusWrite, otherWriterBeforeStatusWrite } from '../testing/status-write-race.js';

const T = 1_795_857_302_113;
const RESET = '{"CommandName":"Reset Thermostat","Parameters":{}}';
const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
let hubs: InMemoryCloudToDevice[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

interface Logged {
  readonly event: string;
  readonly fields: LogFields;
}

/** The hub refuses the first `times` sends with `code`, then passes them on. */
const refusing = (inner: CloudToDevicePort, code: CloudToDeviceError['code'], times: number): CloudToDevicePort => {
  let left = times;
  return {
    send: async (m: CloudToDeviceMessage): Promise<Result<void, CloudToDeviceError>> =>
      left-- > 0 ? err({ code, message: 'refused by the test hub' }) : inner.send(m),
    subscribeFeedback: (handler) => inner.subscribeFeedback(handler),
  };
};

/** thermostat-1 and thermostat-2 connected, thermostat-3 registered but offline; all three in the CRM. */
const setup = async (wrap: (c: CloudToDevicePort) => CloudToDevicePort = (c) => c) => {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0, feedbackRetryDelayMs: 5 });
  hubs.push(hub);
  const logged: Logged[] = [];
  const record = (event: string, fields: LogFields = {}) => void logged.push({ event, fields });
  const log: LogPort = { ...silentLog, info: record, warn: record, error: record };
  const devices = ['thermostat-1', 'thermostat-2', 'thermostat-3'];
  await registry.registerDevices(devices.map((deviceId) => ({ deviceId })));
  for (const [i, deviceId] of devices.entries()) {
    await crm.upsertDevice(aCrmDevice({ deviceRecordId: `dev-${i + 1}`, deviceId, name: `Thermostat ${i + 1}` }));
  }
  const received: Array<{ deviceId: string; messageId: string; body: string }> = [];
  for (const deviceId of devices.slice(0, 2)) {
    registry.setConnectionState(deviceId, 'Connected');
    hub.attach(deviceId, async (m) => {
      received.push({ deviceId, messageId: m.messageId, body: new TextDecoder().decode(m.body) });
      return 'complete';
    });
  }
  const dispatch = new CommandDispatch({ crm, cloudToDevice: wrap(hub), registry, catalog, log, defaultDeviceType: 'Thermostat' });
  const toAll = async (message = RESET, commandId = 'cmd-all') => {
    await crm.createCommand({ commandId, name: 'Reset Thermostat', message, deviceId: '', sendToAllConnectedDevices: true, parentAlertId: 'alert-1' });
    return commandId;
  };
  return { crm, registry, hub, dispatch, received, logged, toAll };
};

let sequence = 0;
const answer = (deviceId: string, messageId: string, status: 'Applied' | 'Refused'): TelemetryEnvelope => ({
  body: new TextEncoder().encode(JSON.stringify({ DeviceID: deviceId, EventToken: `ack-${sequence}`, ...commandAckField({ commandId: messageId, status }) })),
  connectionDeviceId: deviceId,
  enqueuedTime: T,
  partitionId: '0',
  sequenceNumber: sequence++,
});
const feedbackOf = (deviceId: string, originalMessageId: string, status: DeliveryFeedback['status']): DeliveryFeedback => ({
  originalMessageId,
  deviceId,
  status,
  enqueuedTime: T,
});
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('CommandDispatch: a command to all connected devices (msdyn_sendtoallconnecteddevices)', () => {
  it('sends one message to each connected device under its own message id, writes Sent, and a repeat sends nothing', async () => {
    const s = await setup();
    const commandId = await s.toAll();
    expect(await s.dispatch.dispatch(commandId)).toMatchObject({ kind: 'sent' });
    await settle();
    expect(s.received.sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual([
      { deviceId: 'thermostat-1', messageId: broadcastMessageId(commandId, 'thermostat-1'), body: RESET },
      { deviceId: 'thermostat-2', messageId: broadcastMessageId(commandId, 'thermostat-2'), body: RESET },
    ]);
    expect(broadcastMessageId(commandId, 'thermostat-1')).not.toBe(broadcastMessageId(commandId, 'thermostat-2'));
    expect(await s.crm.getCommand(commandId)).toMatchObject({
      state: 'sent',
      cfsStatus: CfsCommandStatus.Sent,
      statusReason: 'Sent to all 2 connected devices',
    });

    expect(await s.dispatch.dispatch(commandId)).toEqual({ kind: 'already-dispatched', state: 'sent' });
    expect(await s.dispatch.dispatchRequested()).toEqual([]);
    await settle();
    expect(s.received).toHaveLength(2);
  });

  it('maps each device feedback and answer back to the command: the first Success delivers it, the first Applied acknowledges it', async () => {
    const s = await setup();
    const commandId = await s.toAll();
    const feedback = new CommandFeedback({ crm: s.crm, log: silentLog });
    const subscription = await feedback.subscribe(s.hub);
    await s.dispatch.dispatch(commandId);
    // The hub's own feedback for both devices' messages (each completed by its device).
    await eventually(
      async () => expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'delivered', statusReason: 'Delivered to the device' }),
      5_000,
    );
    await subscription.close();

    const rejected = new InMemoryRejectedTelemetry();
    const acks = new CommandAcknowledgements({ crm: s.crm, rejected, log: silentLog });
    await acks.handle(answer('thermostat-2', broadcastMessageId(commandId, 'thermostat-2'), 'Applied'));
    await acks.handle(answer('thermostat-1', broadcastMessageId(commandId, 'thermostat-1'), 'Applied'));
    expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'acknowledged', cfsStatus: CfsCommandStatus.Sent });
    expect(await rejected.list(10)).toEqual([]);
  });

  it("keeps the command going when one device fails, logging that device's failure", async () => {
    const s = await setup();
    const commandId = await s.toAll();
    await s.dispatch.dispatch(commandId);
    const feedback = new CommandFeedback({ crm: s.crm, log: { ...silentLog, warn: (event, fields) => void s.logged.push({ event, fields: fields ?? {} }) } });
    await feedback.handle([feedbackOf('thermostat-1', broadcastMessageId(commandId, 'thermostat-1'), 'Expired')]);
    expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'sent' });
    expect(s.logged).toContainEqual({
      event: 'command.device-failed',
      fields: expect.objectContaining({ commandId, deviceId: 'thermostat-1', reason: 'Expired before the device received it' }),
    });
    await feedback.handle([feedbackOf('thermostat-2', broadcastMessageId(commandId, 'thermostat-2'), 'Success')]);
    expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'delivered' });
  });

  it("refuses reports under another device's message id, or under the command's bare id", async () => {
    const s = await setup();
    const commandId = await s.toAll();
    await s.dispatch.dispatch(commandId);
    expect(await commandOfMessage(s.crm, broadcastMessageId(commandId, 'thermostat-1'), 'thermostat-2')).toMatchObject({ kind: 'other-device' });
    expect(await commandOfMessage(s.crm, commandId, 'thermostat-1')).toMatchObject({ kind: 'other-device' });
    expect(await commandOfMessage(s.crm, broadcastMessageId('no-such-command', 'thermostat-1'), 'thermostat-1')).toEqual({ kind: 'unknown' });

    const rejected = new InMemoryRejectedTelemetry();
    const acks = new CommandAcknowledgements({ crm: s.crm, rejected, log: silentLog });
    await acks.handle(answer('thermostat-2', broadcastMessageId(commandId, 'thermostat-1'), 'Applied'));
    expect(await rejected.list(10)).toMatchObject([{ reason: 'CommandOfAnotherDevice' }]);
    await new CommandFeedback({ crm: s.crm, log: silentLog }).handle([feedbackOf('thermostat-2', broadcastMessageId(commandId, 'thermostat-1'), 'Success')]);
    expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'sent' });
  });

  it('goes to a connected device the CRM does not know too, checked against the default device type', async () => {
    const s = await setup();
    await s.registry.registerDevices([{ deviceId: 'hub-only-1' }]);
    s.registry.setConnectionState('hub-only-1', 'Connected');
    s.hub.attach('hub-only-1', async (m) => {
      s.received.push({ deviceId: 'hub-only-1', messageId: m.messageId, body: new TextDecoder().decode(m.body) });
      return 'complete';
    });
    const commandId = await s.toAll();
    await s.dispatch.dispatch(commandId);
    await settle();
    expect(s.received.map((r) => r.deviceId).sort()).toEqual(['hub-only-1', 'thermostat-1', 'thermostat-2']);
    expect(await s.crm.getCommand(commandId)).toMatchObject({ statusReason: 'Sent to all 3 connected devices' });
  });

  it('writes Error saying so when no device is connected, and sends nothing', async () => {
    const s = await setup();
    s.registry.setConnectionState('thermostat-1', 'Disconnected');
    s.registry.setConnectionState('thermostat-2', 'Disconnected');
    const commandId = await s.toAll();
    expect(await s.dispatch.dispatch(commandId)).toEqual({ kind: 'refused', reason: 'Sent to no device: no device is connected to the hub' });
    expect(await s.crm.getCommand(commandId)).toMatchObject({
      state: 'failed',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'Sent to no device: no device is connected to the hub',
    });
    await settle();
    expect(s.received).toEqual([]);
  });

  it('writes Sent naming the device that could not take it (its queue full), and never sends it again', async () => {
    const s = await setup((hub) => refusing(hub, 'DeviceQueueFull', 1));
    const commandId = await s.toAll();
    expect(await s.dispatch.dispatch(commandId)).toMatchObject({ kind: 'sent' });
    await settle();
    expect(s.received.map((r) => r.deviceId)).toEqual(['thermostat-2']);
    expect(await s.crm.getCommand(commandId)).toMatchObject({
      state: 'sent',
      cfsStatus: CfsCommandStatus.Sent,
      statusReason: 'Sent to 1 of 2 connected devices; not sent to thermostat-1 (DeviceQueueFull: refused by the test hub)',
    });
    expect(await s.dispatch.dispatch(commandId)).toMatchObject({ kind: 'already-dispatched' });
  });

  it('leaves the command requested when the hub throttles every send, and a retry sends each device its message once', async () => {
    const s = await setup((hub) => refusing(hub, 'Throttled', 2));
    const commandId = await s.toAll();
    expect(await s.dispatch.dispatch(commandId)).toMatchObject({ kind: 'retry-later' });
    expect(await s.crm.getCommand(commandId)).toMatchObject({ state: 'requested', cfsStatus: CfsCommandStatus.InProgress });
    expect(await s.dispatch.dispatchRequested()).toMatchObject([{ kind: 'sent' }]);
    await settle();
    expect(s.received.map((r) => r.messageId).sort()).toEqual(
      [broadcastMessageId(commandId, 'thermostat-1'), broadcastMessageId(commandId, 'thermostat-2')].sort(),
    );
  });

  it('checks the command against each device type: a device whose type does not know it is named in the status, the others get it', async () => {
    const s = await setup();
    await s.crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-2', deviceId: 'thermostat-2', name: 'Thermostat 2', deviceType: 'NoSuchType' }));
    const commandId = await s.toAll();
    await s.dispatch.dispatch(commandId);
    await settle();
    expect(s.received.map((r) => r.deviceId)).toEqual(['thermostat-1']);
    expect((await s.crm.getCommand(commandId))?.statusReason).toMatch(
      /^Sent to 1 of 2 connected devices; not sent to thermostat-2 \(refused for device type NoSuchType: /,
    );
  });
});

describe('CommandDispatch against other writers of the command status', () => {
  it('never writes Sent over a later state: a second dispatch and its Success feedback landing between the read and the Sent write leave the command delivered', async () => {
    const s = await setup();
    await s.crm.createCommand({ commandId: 'cmd-race', name: 'Reset Thermostat', message: RESET, deviceId: 'thermostat-1' });
    const feedback = new CommandFeedback({ crm: s.crm, log: silentLog });
    const second = new CommandDispatch({ crm: s.crm, cloudToDevice: s.hub, registry: s.registry, catalog, log: silentLog, defaultDeviceType: 'Thermostat' });
    const raced = otherWriterBeforeStatusWrite(s.crm, async () => {
      expect(await second.dispatch('cmd-race')).toMatchObject({ kind: 'sent' });
      await feedback.handle([feedbackOf('thermostat-1', 'cmd-race', 'Success')]);
      expect(await s.crm.getCommand('cmd-race')).toMatchObject({ state: 'delivered' });
    });
    const first = new CommandDispatch({ crm: raced, cloudToDevice: s.hub, registry: s.registry, catalog, log: silentLog, defaultDeviceType: 'Thermostat' });
    expect(await first.dispatch('cmd-race')).toMatchObject({ kind: 'sent' });
    expect(await s.crm.getCommand('cmd-race')).toMatchObject({ state: 'delivered', cfsStatus: CfsCommandStatus.Sent, statusReason: 'Delivered to the device' });
  });

  it('keeps the state of a second dispatch that sent the command while this one was refusing it', async () => {
    const s = await setup();
    await s.crm.createCommand({ commandId: 'cmd-race', name: 'Reset Thermostat', message: RESET, deviceId: 'thermostat-1' });
    const second = new CommandDispatch({ crm: s.crm, cloudToDevice: s.hub, registry: s.registry, catalog, log: silentLog, defaultDeviceType: 'Thermostat' });
    const raced = otherWriterBeforeStatusWrite(s.crm, async () => void (await second.dispatch('cmd-race')));
    const first = new CommandDispatch({
      crm: raced,
      cloudToDevice: refusing(s.hub, 'DeviceNotFound', 1),
      registry: s.registry,
      catalog,
      log: silentLog,
      defaultDeviceType: 'Thermostat',
    });
    expect(await first.dispatch('cmd-race')).toEqual({ kind: 'already-dispatched', state: 'sent' });
    expect(await s.crm.getCommand('cmd-race')).toMatchObject({ state: 'sent', cfsStatus: CfsCommandStatus.Sent });
  });

  it('answers unknown-command when the command is removed from the CRM before its Sent or its refusal is written', async () => {
    const s = await setup();
    await s.crm.createCommand({ commandId: 'cmd-gone', name: 'Reset Thermostat', message: RESET, deviceId: 'thermostat-1' });
    await s.crm.createCommand({ commandId: 'cmd-gone-2', name: 'Reset Thermostat', message: RESET, deviceId: 'thermostat-1' });
    const removed = commandRemovedBeforeStatusWrite(s.crm, new InMemoryCrm(new SequentialIds('other'), { clock: new ManualClock(T) }));
    const dispatch = (cloudToDevice: CloudToDevicePort) =>
      new CommandDispatch({ crm: removed, cloudToDevice, registry: s.registry, catalog, log: silentLog, defaultDeviceType: 'Thermostat' });
    expect(await dispatch(s.hub).dispatch('cmd-gone')).toEqual({ kind: 'unknown-command' });
    expect(await dispatch(refusing(s.hub, 'DeviceNotFound', 1)).dispatch('cmd-gone-2')).toEqual({ kind: 'unknown-command' });
  });
});
