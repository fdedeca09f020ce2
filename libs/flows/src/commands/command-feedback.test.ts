import { InMemoryCrm, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { CfsCommandStatus, type CommandState, type DeliveryFeedbackStatus } from '@fieldlink/domain';
import { silentLog, type DeliveryFeedback } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { CommandFeedback } from './command-feedback.js';
import { CommandReportDeferred, commandStatusUpdate, earlyCommandReport } from './command-progress.js';
import { FaultSchedule } from '../testing/fault-injection.js';
import { commandRemovedBeforeStatusWrite, otherWriterBeforeStatusWrite } from '../testing/status-write-race.js';

const setup = async (state: CommandState = 'sent') => {
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock: new ManualClock(1_000) });
  await crm.createCommand({
    commandId: 'cmd-1',
    name: 'Reset Thermostat',
    message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
    deviceId: 'thermostat-1',
  });
  if (state !== 'requested') await crm.updateCommandStatus('cmd-1', commandStatusUpdate(state));
  return { crm, feedback: new CommandFeedback({ crm, log: silentLog }) };
};
const fb = (status: DeliveryFeedbackStatus, originalMessageId = 'cmd-1', deviceId = 'thermostat-1'): DeliveryFeedback => ({
  originalMessageId,
  deviceId,
  status,
  description: status,
  enqueuedTime: 2_000,
});

describe('CommandFeedback', () => {
  it.each([
    ['Success', 'delivered', CfsCommandStatus.Sent],
    ['Expired', 'expired', CfsCommandStatus.Error],
    ['DeliveryCountExceeded', 'failed', CfsCommandStatus.Error],
    ['Rejected', 'rejected', CfsCommandStatus.Error],
    ['Purged', 'failed', CfsCommandStatus.Error],
  ] as const)('turns %s feedback into the %s state, with the CFS status in step', async (status, state, cfsStatus) => {
    const { crm, feedback } = await setup();
    await feedback.handle([fb(status)]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state, cfsStatus, statusReason: expect.any(String) });
  });

  it('never moves a command back: Success after the acknowledgement changes nothing', async () => {
    const { crm, feedback } = await setup('acknowledged');
    await feedback.handle([fb('Success'), fb('Purged')]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'acknowledged', cfsStatus: CfsCommandStatus.Sent });
  });

  it('never moves a command back when the device answer lands between its read and its write: Success after Applied leaves it acknowledged', async () => {
    const { crm } = await setup('sent');
    const events: string[] = [];
    const raced = otherWriterBeforeStatusWrite(
      crm,
      async () => void (await crm.updateCommandStatus('cmd-1', commandStatusUpdate('acknowledged', 'Acknowledged by the device'))),
    );
    const feedback = new CommandFeedback({ crm: raced, log: { ...silentLog, info: (event) => void events.push(event) } });
    await feedback.handle([fb('Success')]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'acknowledged', statusReason: 'Acknowledged by the device' });
    expect(events).toEqual(['command.feedback-ignored']);
  });

  it('answers feedback that overtook the Sent write as an early report, and its batch handler rejects so it comes again instead of being overwritten', async () => {
    const { crm, feedback } = await setup('requested');
    expect(await feedback.apply(fb('Success'))).toEqual({ ok: false, error: earlyCommandReport('cmd-1') });
    const rejected = await feedback.handle([fb('Success')]).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(CommandReportDeferred);
    expect(rejected).toMatchObject({
      code: 'ReportBeforeSent',
      cause: { commandId: 'cmd-1' },
      message: expect.stringContaining('is not recorded as sent yet'),
    });
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'requested' });
  });

  it('settles feedback for a command removed from the CRM between its read and its write, changing nothing', async () => {
    const { crm } = await setup('sent');
    const events: string[] = [];
    const empty = new InMemoryCrm(new SequentialIds('other'), { clock: new ManualClock(1_000) });
    const feedback = new CommandFeedback({ crm: commandRemovedBeforeStatusWrite(crm, empty), log: { ...silentLog, warn: (event) => void events.push(event) } });
    expect(await feedback.apply(fb('Success'))).toEqual({ ok: true, value: undefined });
    await feedback.handle([fb('Success')]);
    expect(events).toEqual(['command.feedback-unknown', 'command.feedback-unknown']);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'sent' });
  });

  it('ignores feedback for a message that is not a command, and feedback naming another device', async () => {
    const { crm, feedback } = await setup();
    await feedback.handle([fb('Success', 'not-a-command'), fb('Rejected', 'cmd-1', 'thermostat-9')]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'sent' });
  });

  it('rejects the batch when the CRM fails, so the hub gives the feedback again, and applies it then', async () => {
    const { crm } = await setup();
    const faults = new FaultSchedule(new Map([[2, 'before']]));
    const feedback = new CommandFeedback({ crm: faults.wrap(crm, 'crm'), log: silentLog });
    await expect(feedback.handle([fb('Success')])).rejects.toThrow('injected failure before crm.updateCommandStatus');
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'sent' });
    await feedback.handle([fb('Success')]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'delivered' });
  });
});
