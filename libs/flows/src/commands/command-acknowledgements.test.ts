import { InMemoryCrm, InMemoryRejectedTelemetry, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { CfsCommandStatus } from '@fieldlink/domain';
import { silentLog, type TelemetryEnvelope } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { aNewCrmCommand, aTelemetryEnvelope } from '@fieldlink/ports/testing';
import { commandAckField, CommandAcknowledgements, readCommandAck } from './command-acknowledgements.js';
import { CommandFeedback } from './command-feedback.js';
import { CommandReportDeferred, commandStatusUpdate, earlyCommandReport } from './command-progress.js';
import { commandRemovedBeforeStatusWrite, otherWriterBeforeStatusWrite } from '../testing/status-write-race.js';

let sequence = 0;
const envelope = (body: string | object, connectionDeviceId = 'thermostat-1'): TelemetryEnvelope =>
  aTelemetryEnvelope(body, { connectionDeviceId, enqueuedTime: 5_000, sequenceNumber: sequence++ });
const ack = (status: 'Applied' | 'Refused', reason?: string, commandId = 'cmd-1') => ({
  DeviceID: 'thermostat-1',
  EventToken: `ack-${sequence}`,
  ...commandAckField({ commandId, status, ...(reason === undefined ? {} : { reason }) }),
});

const setup = async (state: 'requested' | 'sent' | 'delivered' = 'delivered') => {
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock: new ManualClock(1_000) });
  await crm.createCommand(aNewCrmCommand({ commandId: 'cmd-1', message: '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"65"}}}' }));
  await crm.updateCommandStatus('cmd-1', commandStatusUpdate(state));
  const rejected = new InMemoryRejectedTelemetry();
  return { crm, rejected, acks: new CommandAcknowledgements({ crm, rejected, log: silentLog }) };
};

describe('CommandAcknowledgements', () => {
  it('marks the command acknowledged when its device answers Applied, and a repeated answer changes nothing', async () => {
    const { crm, acks } = await setup();
    await acks.handleBatch([envelope(ack('Applied')), envelope(ack('Applied'))]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({
      state: 'acknowledged',
      cfsStatus: CfsCommandStatus.Sent,
      statusReason: 'Acknowledged by the device',
    });
  });

  it('acknowledges a command whose delivery feedback has not come yet: the answer proves delivery', async () => {
    const { crm, acks } = await setup('sent');
    await acks.handle(envelope(ack('Applied')));
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'acknowledged' });
  });

  it('logs the delivered step before acknowledged when the answer overtakes the delivery feedback, as the feedback would have', async () => {
    const { crm, rejected } = await setup('sent');
    const events: string[] = [];
    const acks = new CommandAcknowledgements({ crm, rejected, log: { ...silentLog, info: (event) => void events.push(event) } });
    await acks.handle(envelope(ack('Applied')));
    expect(events).toEqual(['command.delivered', 'command.acknowledged']);
  });

  it('decides again when the hub feedback lands between its read and its write: Success then Applied ends acknowledged, logged once as delivered', async () => {
    const { crm, rejected } = await setup('sent');
    const events: string[] = [];
    const feedback = new CommandFeedback({ crm, log: silentLog });
    const raced = otherWriterBeforeStatusWrite(crm, () =>
      feedback.handle([{ originalMessageId: 'cmd-1', deviceId: 'thermostat-1', status: 'Success', enqueuedTime: 4_000 }]),
    );
    const acks = new CommandAcknowledgements({ crm: raced, rejected, log: { ...silentLog, info: (event) => void events.push(event) } });
    await acks.handle(envelope(ack('Applied')));
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'acknowledged', statusReason: 'Acknowledged by the device' });
    // The feedback logged the delivery; the answer, decided again from delivered, does not claim it.
    expect(events).toEqual(['command.acknowledged']);
  });

  it('never moves a command back: a Refused answer whose read was overtaken by Expired feedback leaves it expired', async () => {
    const { crm, rejected } = await setup('sent');
    const feedback = new CommandFeedback({ crm, log: silentLog });
    const raced = otherWriterBeforeStatusWrite(crm, () =>
      feedback.handle([{ originalMessageId: 'cmd-1', deviceId: 'thermostat-1', status: 'Expired', enqueuedTime: 4_000 }]),
    );
    const acks = new CommandAcknowledgements({ crm: raced, rejected, log: silentLog });
    await acks.handle(envelope(ack('Refused', 'too late')));
    expect(await crm.getCommand('cmd-1')).toMatchObject({
      state: 'expired',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'Expired before the device received it',
    });
  });

  it('marks the command rejected with the device reason when it answers Refused', async () => {
    const { crm, acks } = await setup('sent');
    await acks.handle(envelope(ack('Refused', 'target out of range')));
    expect(await crm.getCommand('cmd-1')).toMatchObject({
      state: 'rejected',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'Refused by the device: target out of range',
    });
  });

  it('answers an answer that overtook the Sent write as an early report, and its batch handler rejects so the intake gives it again', async () => {
    const { crm, rejected, acks } = await setup('requested');
    expect(await acks.handle(envelope(ack('Applied')))).toEqual({ ok: false, error: earlyCommandReport('cmd-1') });
    await expect(acks.handleBatch([envelope(ack('Applied'))])).rejects.toSatisfy(
      (e: unknown) => e instanceof CommandReportDeferred && e.code === 'ReportBeforeSent' && e.report.commandId === 'cmd-1',
    );
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'requested' });
    expect(await rejected.list(10)).toEqual([]);
  });

  it('keeps an answer for a command removed from the CRM between its read and its write as rejected telemetry', async () => {
    const { crm, rejected } = await setup('sent');
    const empty = new InMemoryCrm(new SequentialIds('other'), { clock: new ManualClock(1_000) });
    const acks = new CommandAcknowledgements({ crm: commandRemovedBeforeStatusWrite(crm, empty), rejected, log: silentLog });
    expect(await acks.handle(envelope(ack('Applied')))).toEqual({ ok: true, value: undefined });
    expect((await rejected.list(10)).map((r) => [r.reason, r.description])).toEqual([['UnknownCommand', 'CommandAck.CommandId: no command cmd-1']]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'sent' });
  });

  it('lets ordinary telemetry pass by untouched', async () => {
    const { crm, rejected, acks } = await setup();
    await acks.handle(envelope({ DeviceID: 'thermostat-1', EventToken: 'e', Temperature: 64 }));
    await acks.handle(envelope('not json'));
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'delivered' });
    expect(await rejected.list(10)).toEqual([]);
  });

  it('keeps a malformed answer, an answer for an unknown command and one from another device as rejected telemetry', async () => {
    const { crm, rejected, acks } = await setup();
    await acks.handle(envelope({ DeviceID: 'thermostat-1', EventToken: 'x', CommandAck: { CommandId: 'cmd-1', Status: 'Done' } }));
    await acks.handle(envelope(ack('Applied', undefined, 'cmd-404')));
    await acks.handle(envelope(ack('Applied'), 'thermostat-2'));
    expect((await rejected.list(10)).map((r) => [r.reason, r.description])).toEqual([
      ['InvalidCommandAck', 'CommandAck.Status: expected "Applied" or "Refused"'],
      ['UnknownCommand', 'CommandAck.CommandId: no command cmd-404'],
      ['CommandOfAnotherDevice', 'command cmd-1 was sent to thermostat-1, not to thermostat-2'],
    ]);
    expect(await crm.getCommand('cmd-1')).toMatchObject({ state: 'delivered' });
  });

  it('reads back what a device writes', () => {
    expect(readCommandAck(commandAckField({ commandId: 'c', status: 'Refused', reason: 'r' }))).toEqual({
      ok: true,
      ack: { commandId: 'c', status: 'Refused', reason: 'r' },
    });
  });
});
