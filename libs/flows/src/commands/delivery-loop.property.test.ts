import { aCrmDevice, waitFor } from '@fieldlink/ports/testing';
import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES } from '@fieldlink/domain';
import { encodeCfsAlertMessage, silentLog, type CloudToDevicePort, type CrmGatewayPort, type QueueMessage } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertActions } from '../alerts/alert-actions.js';
import { AlertAutomation } from '../automation/alert-automation.js';
import { deviceTypeCommandCatalog } from './command-catalog.js';
import { COOL_DOWN_POLICY } from '../testing/cool-down-policy.js';
import { CommandDispatch } from './command-dispatch.js';
import { CommandFeedback } from './command-feedback.js';
import { CommandRequests } from './command-requests.js';
import { InboundAlerts } from '../alerts/inbound-alerts.js';
import { QueueProcessor } from '../shared/queue-processor.js';
import { FaultSchedule, type FaultTiming } from '../testing/fault-injection.js';

/*
 * The CRM side of the loop, end to end on the in-memory adapters: alerts-queue message → IoT alert
 * (parented) → rules framework → Set Values command → cloud-to-device → device → delivery feedback
 * → command delivered. The outcome of a run is compared, normalised by alert token, with the
 * outcome of a clean run of the same alerts.
 */

const T = Date.parse('2026-11-28T09:00:00.000Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3'];

interface AlertSpec {
  readonly device: number;
  readonly minute: number;
  readonly reading: number;
}

const alertMessage = (spec: AlertSpec, i: number, messageId = `m${i}`): QueueMessage => ({
  messageId,
  body: encodeCfsAlertMessage([
    {
      deviceId: DEVICES[spec.device]!,
      readingType: 'Temperature',
      reading: spec.reading,
      eventToken: `token-${i}`,
      threshold: 70,
      ruleOutput: 'AlarmTemp',
      time: T + spec.minute * 60_000,
    },
  ]),
});

async function runLoop(messages: readonly QueueMessage[], faults: ReadonlyMap<number, FaultTiming> = new Map()) {
  const clock = new ManualClock(T);
  const realCrm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const hub = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0, feedbackRetryDelayMs: 1 });
  await registry.registerDevices(DEVICES.map((deviceId) => ({ deviceId })));
  for (const [i, deviceId] of DEVICES.entries()) {
    await realCrm.upsertDevice(aCrmDevice({ deviceRecordId: `dev-${i}`, deviceId, name: deviceId, settings: { TargetTemperature: 60 + i } }));
  }
  const schedule = new FaultSchedule(faults);
  const crm = schedule.wrap<CrmGatewayPort>(realCrm, 'crm');
  const cloudToDevice = schedule.wrap<CloudToDevicePort>(hub, 'cloudToDevice', ['send']);
  const log = silentLog;
  const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
  const dispatch = new CommandDispatch({ crm, cloudToDevice, registry, catalog, log, defaultDeviceType: 'Thermostat' });
  const automation = new AlertAutomation({
    crm,
    actions: new AlertActions({ crm, commands: new CommandRequests({ crm, catalog, log, defaultDeviceType: 'Thermostat', dispatch }), log }),
    log,
    config: COOL_DOWN_POLICY,
  });
  const inbound = new InboundAlerts({ crm, log, automation });
  // A high delivery count: the faults are transient, and the property is that redelivery finishes the work.
  const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 1_000 });
  // One message at a time, as a session receiver per device would: an abandoned message is retried before the next.
  const processor = new QueueProcessor(queue, (m) => inbound.handle(m), log, { maxMessages: 1 });
  const received: string[] = [];
  for (const deviceId of DEVICES) {
    hub.attach(deviceId, async (m) => {
      received.push(m.messageId);
      return 'complete';
    });
  }
  const feedback = new CommandFeedback({ crm, log });
  const subscription = await feedback.subscribe(hub);
  await queue.send(messages);
  while (queue.activeCount > 0) await processor.drainOnce();
  // Feedback is asynchronous and retried after failures: wait until every command has it.
  await waitFor('delivery feedback on every command', async () =>
    (await realCrm.listCommands()).every((c) => c.state !== 'requested' && c.state !== 'sent') ? true : undefined,
  );
  await subscription.close();
  hub.close();

  const alerts = await realCrm.listIoTAlerts();
  const tokenOf = new Map(alerts.map((a) => [a.alertId, a.alertToken]));
  const commands = await realCrm.listCommands();
  return {
    deadLetters: await queue.peekDeadLetters(100),
    alerts: alerts
      .map((a) => ({
        token: a.alertToken,
        parent: a.parentAlertId === undefined ? null : tokenOf.get(a.parentAlertId),
        state: a.state,
        status: a.status,
        command: commands.find((c) => c.commandId === a.lastCommandId)?.message ?? null,
      }))
      .sort((a, b) => a.token.localeCompare(b.token)),
    commands: commands
      .map((c) => ({ alert: tokenOf.get(c.parentAlertId!), deviceId: c.deviceId, message: c.message, state: c.state }))
      .sort((a, b) => a.alert!.localeCompare(b.alert!)),
    receivedIds: [...new Set(received)].sort(),
    commandIds: commands.map((c) => c.commandId).sort(),
    calls: schedule.callCount,
  };
}

const alertSpecs = fc.array(
  fc.record({ device: fc.integer({ min: 0, max: 2 }), minute: fc.integer({ min: 0, max: 30 }), reading: fc.integer({ min: 71, max: 95 }) }),
  { minLength: 1, maxLength: 8 },
);

describe('the alert → command → device loop', () => {
  it('is idempotent under redelivery of any message: alerts re-sent under new message ids change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        alertSpecs.chain((specs) => fc.tuple(fc.constant(specs), fc.array(fc.integer({ min: 0, max: specs.length - 1 }), { maxLength: 10 }))),
        async ([specs, resent]) => {
          const clean = await runLoop(specs.map((s, i) => alertMessage(s, i)));
          // Each re-sent copy follows its original (a producer retrying after the duplicate-detection window).
          const messages: QueueMessage[] = [];
          specs.forEach((s, i) => {
            messages.push(alertMessage(s, i));
            resent.filter((r) => r === i).forEach((_, k) => messages.push(alertMessage(s, i, `m${i}-again-${k}`)));
          });
          const redelivered = await runLoop(messages);
          expect(redelivered.alerts).toEqual(clean.alerts);
          expect(redelivered.commands).toEqual(clean.commands);
          expect(redelivered.receivedIds).toEqual(redelivered.commandIds);
          expect(redelivered.deadLetters).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('loses no message when a flow fails half way: with failures before or after any call, redelivery makes every effect happen once', async () => {
    await fc.assert(
      fc.asyncProperty(
        alertSpecs,
        fc.array(fc.tuple(fc.integer({ min: 1, max: 120 }), fc.constantFrom<FaultTiming>('before', 'after')), { minLength: 1, maxLength: 12 }),
        async (specs, faultList) => {
          const messages = specs.map((s, i) => alertMessage(s, i));
          const clean = await runLoop(messages);
          const faulty = await runLoop(messages, new Map(faultList));
          expect(faulty.deadLetters).toEqual([]);
          expect(faulty.alerts).toEqual(clean.alerts);
          expect(faulty.commands).toEqual(clean.commands);
          // Each command reached its device (a send that failed after leaving may repeat, under the same message id).
          expect(faulty.receivedIds).toEqual(faulty.commandIds);
          expect(faulty.commands.every((c) => c.state === 'delivered')).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
