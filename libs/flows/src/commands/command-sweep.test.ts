import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES, CfsCommandStatus } from '@fieldlink/domain';
import { silentLog, type LogFields } from '@fieldlink/ports';
import { aCrmDevice, eventually } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from './command-catalog.js';
import { CommandDispatch } from './command-dispatch.js';
import { CommandFeedback } from './command-feedback.js';
import { CommandRequests } from './command-requests.js';
import { CommandSweep } from './command-sweep.js';
import { commandRemovedBeforeStatusWrite } from '../testing/status-write-race.js';

const T = Date.parse('2026-11-28T09:15:02.113Z');
const TTL = 3_600_000;
const ANSWER = 600_000;
const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
let hubs: InMemoryCloudToDevice[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

const setup = async () => {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('cmd'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0, feedbackRetryDelayMs: 5 });
  hubs.push(hub);
  await registry.registerDevices([{ deviceId: 'thermostat-1' }]);
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-1', deviceId: 'thermostat-1', name: 'Lobby' }));
  const dispatch = new CommandDispatch({ crm, cloudToDevice: hub, registry, catalog, log: silentLog, defaultDeviceType: 'Thermostat', ttlMs: TTL });
  const commands = new CommandRequests({ crm, catalog, log: silentLog, defaultDeviceType: 'Thermostat', dispatch });
  // A new sweep over the same CRM is what a restarted process has: everything it decides on is read from the CRM.
  const sweep = (withDispatch = true) =>
    new CommandSweep({ crm, log: silentLog, clock, ttlMs: TTL, answerTimeoutMs: ANSWER, ...(withDispatch ? { dispatch } : {}) });
  return { clock, crm, hub, commands, sweep };
};

const countIn = async (crm: InMemoryCrm, state: string): Promise<number> => (await crm.listCommands()).filter((c) => c.state === state).length;

describe('CommandSweep: commands never stall', () => {
  it('sends all of 2,000 commands deferred by a full device queue, the oldest too, across restarts', async () => {
    const { crm, hub, commands, sweep } = await setup();
    for (let i = 0; i < 2_000; i++) {
      const r = await commands.request({ deviceId: 'thermostat-1', commandName: 'Notification', parameters: { Message: `message ${i}` } });
      expect(r.ok).toBe(true);
    }
    // The device is offline: the hub holds 50 for it, the other 1,950 are deferred and stay requested.
    expect(await countIn(crm, 'requested')).toBe(1_950);

    const received = new Set<string>();
    hub.attach('thermostat-1', async (m) => {
      received.add(m.messageId);
      return 'complete';
    });
    for (let round = 0; round < 200 && (await countIn(crm, 'requested')) > 0; round++) {
      // Each round is a fresh sweep, as after a restart; the device drains its queue in between.
      await sweep().sweep();
      await eventually(() => expect(hub.pendingCount('thermostat-1')).toBe(0));
    }
    expect(await countIn(crm, 'requested')).toBe(0);
    expect(received.size).toBe(2_000);
    const all = await crm.listCommands();
    expect(new Set(all.map((c) => c.commandId))).toEqual(received);
    expect(all.every((c) => c.state === 'sent' && c.cfsStatus === CfsCommandStatus.Sent)).toBe(true);
  });

  it('fails a command never sent within its time to live, with the reason and the last deferral', async () => {
    const { clock, crm, hub, commands, sweep } = await setup();
    for (let i = 0; i < 51; i++) await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: `c-${i}` });
    expect(await crm.getCommand('c-50')).toMatchObject({ state: 'requested' });
    clock.advance(TTL);
    hub.expireDue();
    const report = await sweep().sweep();
    expect(report.timedOut).toBeGreaterThanOrEqual(1);
    expect(await crm.getCommand('c-50')).toMatchObject({
      state: 'failed',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: expect.stringMatching(/^Not sent within its time to live of 60 min/),
    });
  });

  it('expires a sent command with no delivery feedback within its time to live, and a delivered one with no answer within the answer timeout', async () => {
    const { clock, crm, hub, commands, sweep } = await setup();
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'never-delivered' });
    expect(await crm.getCommand('never-delivered')).toMatchObject({ state: 'sent' });
    hub.attach('thermostat-1', async () => 'complete');
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'never-answered' });
    // Its delivery feedback (Success) moves it to delivered; the device never answers.
    const feedback = new CommandFeedback({ crm, log: silentLog });
    await hub.subscribeFeedback((batch) => feedback.handle(batch.filter((f) => f.originalMessageId === 'never-answered')));
    await eventually(async () => expect(await crm.getCommand('never-answered')).toMatchObject({ state: 'delivered' }));

    clock.advance(ANSWER - 1);
    await sweep().sweep();
    expect(await crm.getCommand('never-answered')).toMatchObject({ state: 'delivered' });
    clock.advance(1);
    await sweep(false).sweep();
    expect(await crm.getCommand('never-answered')).toMatchObject({
      state: 'expired',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'No answer from the device within 10 min of delivery',
    });
    // Its feedback was never applied: still sent, until its time to live has passed.
    expect(await crm.getCommand('never-delivered')).toMatchObject({ state: 'sent' });
    clock.advance(TTL - ANSWER);
    await sweep(false).sweep();
    expect(await crm.getCommand('never-delivered')).toMatchObject({ state: 'expired', statusReason: 'No delivery feedback within its time to live of 60 min' });
  });

  it('expires a sent command whose delivery feedback never came', async () => {
    const { clock, crm, commands, sweep } = await setup();
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'lost' });
    expect(await crm.getCommand('lost')).toMatchObject({ state: 'sent' });
    clock.advance(TTL);
    // No feedback subscriber, no expiry in the hub: only the sweep notices; a restarted one too.
    await sweep(false).sweep();
    expect(await crm.getCommand('lost')).toMatchObject({
      state: 'expired',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'No delivery feedback within its time to live of 60 min',
    });
  });

  it('leaves a command alone that feedback moved on meanwhile: the ending is conditional on the state read', async () => {
    const { clock, crm, commands } = await setup();
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'raced' });
    clock.advance(TTL);
    const racing = new Proxy(crm, {
      get: (target, prop, receiver) => {
        if (prop !== 'updateCommandStatus') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<InMemoryCrm['updateCommandStatus']>) => {
          // Feedback lands between the sweep's read and its write.
          await target.updateCommandStatus('raced', { state: 'delivered', cfsStatus: CfsCommandStatus.Sent });
          return target.updateCommandStatus(...args);
        };
      },
    });
    const report = await new CommandSweep({ crm: racing, log: silentLog, clock, ttlMs: TTL, answerTimeoutMs: ANSWER }).sweep();
    expect(report.timedOut).toBe(0);
    expect(await crm.getCommand('raced')).toMatchObject({ state: 'delivered' });
  });

  it('skips a command removed from the CRM between its read and its ending, and ends the others', async () => {
    const { clock, crm, commands } = await setup();
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'removed' });
    await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {}, commandId: 'kept' });
    clock.advance(TTL);
    // The CRM the status writes reach holds only 'kept': 'removed' is gone by the time its ending is written.
    const after = new InMemoryCrm(new SequentialIds('after'), { clock });
    await after.createCommand({ ...(await crm.getCommand('kept'))!, commandId: 'kept' });
    await after.updateCommandStatus('kept', { state: 'sent', cfsStatus: CfsCommandStatus.Sent });
    const warned: Array<{ event: string; commandId: unknown }> = [];
    const log = { ...silentLog, warn: (event: string, fields: LogFields = {}) => void warned.push({ event, commandId: fields['commandId'] }) };
    const report = await new CommandSweep({ crm: commandRemovedBeforeStatusWrite(crm, after), log, clock, ttlMs: TTL, answerTimeoutMs: ANSWER }).sweep();
    expect(report.timedOut).toBe(1);
    expect(await after.getCommand('kept')).toMatchObject({ state: 'expired' });
    expect(warned).toEqual([
      { event: 'command.gone', commandId: 'removed' },
      { event: 'command.expired', commandId: 'kept' },
    ]);
  });
});
