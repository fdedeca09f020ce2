import { aCrmDevice } from '@fieldlink/ports/testing';
import { InMemoryCloudToDevice, InMemoryCrm, InMemoryDeviceRegistry, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertState, AlertStatus, BUILT_IN_DEVICE_TYPES, CfsCommandStatus, err } from '@fieldlink/domain';
import { alertNotFound, encodeCfsAlertMessage, silentLog, type CloudToDevicePort, type LogFields, type LogPort } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertActions } from '../alerts/alert-actions.js';
import { AlertAutomation, type AlertAutomationConfig } from './alert-automation.js';
import { deviceTypeCommandCatalog } from '../commands/command-catalog.js';
import { CommandDispatch } from '../commands/command-dispatch.js';
import { CommandFeedback } from '../commands/command-feedback.js';
import { CommandRequests } from '../commands/command-requests.js';
import { InboundAlerts } from '../alerts/inbound-alerts.js';
import { QueueProcessor } from '../shared/queue-processor.js';
import { COOL_DOWN_POLICY } from '../testing/cool-down-policy.js';

const T = Date.parse('2026-11-28T09:15:02.113Z');
const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
let hubs: InMemoryCloudToDevice[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

/** `null`: no policy given at all. */
const setup = async (
  config: AlertAutomationConfig | null = COOL_DOWN_POLICY,
  log: LogPort = silentLog,
  wrap: (hub: CloudToDevicePort) => CloudToDevicePort = (hub) => hub,
) => {
  const clock = new ManualClock(T);
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const registry = new InMemoryDeviceRegistry(clock);
  const cloudToDevice = new InMemoryCloudToDevice(registry, clock, { expiryCheckIntervalMs: 0, feedbackRetryDelayMs: 5 });
  hubs.push(cloudToDevice);
  await registry.registerDevices([{ deviceId: 'thermostat-1' }]);
  await crm.upsertCustomerAsset({ customerAssetId: 'asset-1', name: 'Lobby HVAC' });
  await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-1', deviceId: 'thermostat-1', customerAssetId: 'asset-1', settings: { TargetTemperature: 21 } }));
  const dispatch = new CommandDispatch({ crm, cloudToDevice: wrap(cloudToDevice), registry, catalog, log, defaultDeviceType: 'Thermostat' });
  const commands = new CommandRequests({ crm, catalog, log, defaultDeviceType: 'Thermostat', dispatch });
  const actions = new AlertActions({ crm, commands, log });
  const automation = new AlertAutomation({ crm, actions, log, defaultDeviceType: 'Thermostat', ...(config === null ? {} : { config }) });
  const queue = new InMemoryQueue('alerts');
  const processor = new QueueProcessor(queue, (m) => new InboundAlerts({ crm, log, automation }).handle(m), log);
  const received: Array<{ messageId: string; body: string }> = [];
  cloudToDevice.attach('thermostat-1', async (m) => {
    received.push({ messageId: m.messageId, body: new TextDecoder().decode(m.body) });
    return 'complete';
  });
  const raise = async (token: string, reading = 86, time = T, deviceId = 'thermostat-1'): Promise<void> => {
    await queue.send([
      {
        messageId: token,
        body: encodeCfsAlertMessage([{ deviceId, readingType: 'Temperature', reading, eventToken: token, threshold: 70, ruleOutput: 'AlarmTemp', time }]),
      },
    ]);
    await processor.drainOnce();
  };
  return { crm, cloudToDevice, queue, processor, raise, received, actions, commands, dispatch };
};

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('AlertAutomation (flow 11, the CRM-side rules framework)', () => {
  it('without a policy records the alert only, as CFS out of the box: no command, no case, the alert stays Active', async () => {
    const { crm, raise } = await setup(null);
    await raise('e1');
    expect(await crm.listIoTAlerts()).toMatchObject([{ state: AlertState.Active, status: AlertStatus.Active }]);
    expect(await crm.listCommands()).toEqual([]);
    expect(await crm.listCases()).toEqual([]);
  });

  it('matches on the device category: a rule for another device type does not run, "none" runs and does nothing', async () => {
    const { crm, raise } = await setup({
      rules: [
        { name: 'pressure', when: { deviceType: 'PressureSensor', ruleOutput: 'AlarmTemp' }, actions: [{ kind: 'create-case' }] },
        { name: 'quiet', when: { deviceType: 'Thermostat' }, actions: [{ kind: 'none' }] },
      ],
    });
    await raise('e1');
    expect(await crm.listCases()).toEqual([]);
    expect(await crm.listCommands()).toEqual([]);
    expect(await crm.listIoTAlerts()).toMatchObject([{ status: AlertStatus.Active }]);
  });

  it('creates a work order with its incident type and priority', async () => {
    const { crm, raise } = await setup({
      rules: [{ name: 'wo', when: { ruleOutput: 'AlarmTemp' }, actions: [{ kind: 'create-work-order', incidentType: 'Thermostat repair', priority: 'High' }] }],
    });
    await raise('e1');
    expect(await crm.listWorkOrders()).toMatchObject([{ incidentType: 'Thermostat repair', priority: 'High' }]);
  });

  it('with the demo policy answers AlarmTemp with Set Values to the device target, sends it, and marks the alert Command Sent', async () => {
    const { crm, raise, received } = await setup();
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    const [command] = await crm.listCommands();
    expect(command).toMatchObject({
      name: 'Set Values',
      message: '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"21"}}}',
      deviceId: 'thermostat-1',
      deviceRecordId: 'dev-1',
      customerAssetId: 'asset-1',
      parentAlertId: alert!.alertId,
      state: 'sent',
      cfsStatus: CfsCommandStatus.Sent,
    });
    expect(alert).toMatchObject({ state: AlertState.InProgress, status: AlertStatus.InProgressCommandSent, lastCommandId: command!.commandId });
    await settle();
    expect(received).toEqual([{ messageId: command!.commandId, body: command!.message }]);
  });

  it('closes the loop with delivery feedback: the command is delivered once the device completes it', async () => {
    const { crm, cloudToDevice, raise } = await setup();
    const feedback = new CommandFeedback({ crm, log: silentLog });
    const delivered = new Promise<void>(
      (resolve) =>
        void cloudToDevice.subscribeFeedback(async (batch) => {
          await feedback.handle(batch);
          resolve();
        }),
    );
    await raise('e1');
    await delivered;
    expect(await crm.listCommands()).toMatchObject([{ state: 'delivered', cfsStatus: CfsCommandStatus.Sent }]);
  });

  it('abandons the alert message while the hub throttles the command, and finishes the work when it comes back', async () => {
    let throttled = 1;
    const { crm, queue, processor, raise, received } = await setup(COOL_DOWN_POLICY, silentLog, (hub) => ({
      send: async (m) => (throttled-- > 0 ? err({ code: 'Throttled', message: 'the test hub asks to slow down' }) : hub.send(m)),
      subscribeFeedback: (handler) => hub.subscribeFeedback(handler),
    }));
    await raise('e1');
    expect(await crm.listCommands()).toMatchObject([{ state: 'requested' }]);
    expect(await queue.peekDeadLetters(10)).toEqual([]);
    expect(await processor.drainOnce()).toBe(1);
    await settle();
    expect(await crm.listCommands()).toMatchObject([{ state: 'sent' }]);
    expect(received).toHaveLength(1);
  });

  it('starts nothing for a child alert: a repeat within the window is debounced', async () => {
    const { crm, raise } = await setup();
    await raise('e1', 86, T);
    await raise('e2', 87, T + 60_000);
    expect(await crm.listIoTAlerts()).toHaveLength(2);
    expect(await crm.listCommands()).toHaveLength(1);
  });

  it('runs the actions of every matching rule: case, work order and notification', async () => {
    const config: AlertAutomationConfig = {
      rules: [
        {
          name: 'dispatch',
          when: { ruleOutput: 'AlarmTemp', readingType: 'Temperature' },
          actions: [
            { kind: 'notify', message: 'Reading {{alert.reading}} over {{alert.threshold}}' },
            { kind: 'create-case' },
            { kind: 'create-work-order', summary: 'Check {{device.name}}' },
          ],
        },
        { name: 'never', when: { ruleOutput: 'AlarmHumidity' }, actions: [{ kind: 'create-case', title: 'not me' }] },
      ],
    };
    const { crm, raise } = await setup(config);
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    const [theCase] = await crm.listCases();
    expect(theCase).toMatchObject({ alertId: alert!.alertId, customerAssetId: 'asset-1', title: 'Temperature reading of 86 exceeded a threshold of 70' });
    expect(await crm.listWorkOrders()).toMatchObject([{ alertId: alert!.alertId, caseId: theCase!.caseId, summary: 'Check {{device.name}}' }]);
    expect(await crm.listCommands()).toMatchObject([
      { name: 'Notification', message: '{"CommandName":"Notification","Parameters":{"Message":"Reading 86 over 70"}}' },
    ]);
    expect(alert).toMatchObject({ state: AlertState.InProgress, status: AlertStatus.InProgressCaseCreated, caseId: theCase!.caseId });
  });

  it('refuses a configured command the device type does not know, says why, and leaves the alert active', async () => {
    const events: Array<{ event: string; fields?: LogFields }> = [];
    const log: LogPort = {
      info: () => undefined,
      warn: () => undefined,
      error: (event, fields) => void events.push({ event, ...(fields === undefined ? {} : { fields }) }),
    };
    const { crm, raise, queue } = await setup(
      { rules: [{ name: 'bad', when: {}, actions: [{ kind: 'send-command', commandName: 'Self Destruct', parameters: {} }] }] },
      log,
    );
    await raise('e1');
    expect(await crm.listCommands()).toEqual([]);
    expect(await crm.listIoTAlerts()).toMatchObject([{ status: AlertStatus.Active }]);
    expect(events).toMatchObject([
      { event: 'automation.action-refused', fields: { rule: 'bad', detail: expect.stringContaining('"Self Destruct" is not a command of Thermostat') } },
    ]);
    expect(queue.activeCount).toBe(0);
  });
});

describe('alert state follows the domain lifecycle (applyAlertAction)', () => {
  it('keeps Case Created when a command is sent after the case was opened', async () => {
    const { actions, crm, raise } = await setup({ rules: [] });
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    await actions.createCase(alert!.alertId);
    const sent = await actions.sendCommand(alert!.alertId, 'Reset Thermostat', {});
    expect(sent.ok).toBe(true);
    expect(await crm.getIoTAlert(alert!.alertId)).toMatchObject({
      state: AlertState.InProgress,
      status: AlertStatus.InProgressCaseCreated,
      lastCommandId: sent.ok ? sent.value.commandId : '',
    });
  });

  it('keeps the status on a notification, and moves an active alert to Command Sent on a command', async () => {
    const { actions, crm, raise } = await setup({ rules: [] });
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    expect((await actions.notify(alert!.alertId, 'Check the unit')).ok).toBe(true);
    expect(await crm.getIoTAlert(alert!.alertId)).toMatchObject({ state: AlertState.Active, status: AlertStatus.Active });
    expect((await actions.sendCommand(alert!.alertId, 'Reset Thermostat', {})).ok).toBe(true);
    expect(await crm.getIoTAlert(alert!.alertId)).toMatchObject({ state: AlertState.InProgress, status: AlertStatus.InProgressCommandSent });
  });

  it('refuses a command, a case and a work order on an inactive alert with the reason, and sends nothing', async () => {
    const { actions, crm, raise } = await setup({ rules: [] });
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    await crm.updateIoTAlert(alert!.alertId, { state: AlertState.Inactive, status: AlertStatus.Inactive });
    for (const refused of [
      await actions.sendCommand(alert!.alertId, 'Reset Thermostat', {}),
      await actions.createCase(alert!.alertId),
      await actions.createWorkOrder(alert!.alertId),
    ]) {
      expect(refused).toMatchObject({
        ok: false,
        error: { code: 'AlertInactive', message: expect.stringContaining('the alert is inactive: reactivate it before') },
      });
    }
    expect(await crm.listCommands()).toEqual([]);
    expect(await crm.getIoTAlert(alert!.alertId)).toMatchObject({ state: AlertState.Inactive, status: AlertStatus.Inactive });
  });

  it("raises a new root alert with its own automation at the first crossing after the device's alert was closed", async () => {
    const { actions, crm, raise } = await setup();
    await raise('e1', 86, T);
    await raise('e2', 87, T + 60_000);
    const [child, root] = await crm.listIoTAlerts();
    expect(child).toMatchObject({ parentAlertId: root!.alertId });
    expect(await crm.listCommands()).toHaveLength(1);
    expect((await actions.close(root!.alertId)).ok).toBe(true);
    await raise('e3', 88, T + 120_000);
    const [after] = await crm.listIoTAlerts();
    expect(after).toMatchObject({ alertToken: 'e3', state: AlertState.InProgress, status: AlertStatus.InProgressCommandSent });
    expect(after!.parentAlertId).toBeUndefined();
    expect(await crm.listCommands()).toHaveLength(2);
    // While this new root stays open, the next crossing is its child and starts nothing.
    await raise('e4', 89, T + 180_000);
    const [next] = await crm.listIoTAlerts();
    expect(next).toMatchObject({ alertToken: 'e4', parentAlertId: after!.alertId });
    expect(await crm.listCommands()).toHaveLength(2);
  });
});

describe('AlertActions and CommandRequests (the console actions)', () => {
  it('sends a command chosen by the console, validated against the device type', async () => {
    const { commands, crm, received } = await setup();
    const sent = await commands.request({ deviceId: 'thermostat-1', commandName: 'Reset Thermostat', parameters: {} });
    expect(sent).toMatchObject({ ok: true, value: { created: true, dispatch: { kind: 'sent' } } });
    await settle();
    expect(received.map((r) => r.body)).toEqual(['{"CommandName":"Reset Thermostat","Parameters":{}}']);
    const refused = await commands.request({ deviceId: 'thermostat-1', commandName: 'Set Values', parameters: { Reading: { Humidity: '130' } } });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'InvalidCommand', issues: [{ path: 'Parameters.Reading.Humidity', message: 'expected at most 100' }] },
    });
    expect(await crm.listCommands()).toHaveLength(1);
  });

  it('creates a case and a work order once per alert, and closes the alert', async () => {
    const { actions, crm, raise } = await setup({ rules: [] });
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    const first = await actions.createCase(alert!.alertId);
    const again = await actions.createCase(alert!.alertId);
    expect(first).toMatchObject({ ok: true, value: { created: true } });
    expect(again).toMatchObject({ ok: true, value: { created: false } });
    expect(await actions.createWorkOrder(alert!.alertId)).toMatchObject({ ok: true, value: { created: true } });
    expect(await actions.close(alert!.alertId)).toEqual({ ok: true, value: undefined });
    expect(await crm.getIoTAlert(alert!.alertId)).toMatchObject({ state: AlertState.Closed, status: AlertStatus.Closed });
    expect(await actions.createCase(alert!.alertId)).toMatchObject({ ok: false, error: { code: 'AlertClosed' } });
    expect(await actions.close('nope')).toMatchObject({ ok: false, error: { code: 'AlertNotFound' } });
  });

  it('answers AlertNotFound when the alert is gone by the time an action writes to it, the case or command made standing', async () => {
    const { commands, crm, raise } = await setup({ rules: [] });
    await raise('e1');
    const [alert] = await crm.listIoTAlerts();
    // The CRM loses the alert between the action's read and its write (deleted by a user, say).
    const gone = Object.assign(Object.create(crm) as InMemoryCrm, { updateIoTAlert: async (alertId: string) => err(alertNotFound(alertId)) });
    const racing = new AlertActions({ crm: gone, commands, log: silentLog });
    expect(await racing.createCase(alert!.alertId)).toMatchObject({ ok: false, error: { code: 'AlertNotFound', alertId: alert!.alertId } });
    expect(await crm.listCases({ alertId: alert!.alertId })).toHaveLength(1);
    expect(await racing.close(alert!.alertId)).toMatchObject({ ok: false, error: { code: 'AlertNotFound' } });
    expect(await racing.notify(alert!.alertId, 'Check the lobby')).toMatchObject({ ok: false, error: { code: 'AlertNotFound' } });
  });

  it('writes Error with the reason when the hub does not know the device, and never sends a command twice', async () => {
    const { commands, crm, dispatch } = await setup();
    const result = await commands.request({ deviceId: 'thermostat-404', commandName: 'Reset Thermostat', parameters: {} });
    expect(result).toMatchObject({ ok: true, value: { dispatch: { kind: 'refused' } } });
    const [command] = await crm.listCommands();
    expect(command).toMatchObject({
      state: 'failed',
      cfsStatus: CfsCommandStatus.Error,
      statusReason: 'DeviceNotFound: The hub has no device "thermostat-404".',
    });
    expect(await dispatch.dispatch(command!.commandId)).toEqual({ kind: 'already-dispatched', state: 'failed' });
  });
});
