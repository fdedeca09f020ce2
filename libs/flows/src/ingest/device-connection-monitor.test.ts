import {
  InMemoryCrm,
  InMemoryIotHub,
  InMemoryQueue,
  InMemoryReferenceData,
  InMemoryRejectedTelemetry,
  InMemoryStatusStore,
  ManualClock,
  SequentialIds,
} from '@fieldlink/adapter-in-memory';
import {
  emptyRulesEngineState,
  loadRuleSet,
  RulesEngine,
  THERMOSTAT_DEFAULT_RULES,
  THERMOSTAT_DEVICE_TYPE,
  type DeviceTypeDefinition,
} from '@fieldlink/domain';
import { silentLog, type TelemetrySubscription } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnectionMonitor } from './device-connection-monitor.js';
import { InboundAlerts, iotAlertRecordId } from '../alerts/inbound-alerts.js';
import { QueueProcessor } from '../shared/queue-processor.js';
import { TelemetryIngest } from './telemetry-ingest.js';

const T = Date.parse('2026-11-28T09:00:00.000Z');

/** A device type that asks for an alert when its device goes silent for two minutes. */
const SILENT_RULE = {
  id: 'chiller-silent',
  kind: 'absence',
  scope: { deviceType: 'Chiller' },
  forMs: 120_000,
  severity: 'critical',
  output: 'DeviceOffline',
} as const;
const CHILLER: DeviceTypeDefinition = { name: 'Chiller', readings: ['Pressure'], commands: [], defaultRules: [SILENT_RULE] };

const subscriptions: TelemetrySubscription[] = [];
afterEach(async () => {
  for (const s of subscriptions.splice(0)) await s.close();
});

/** The hub, the stream processor's ingest and monitor, the alerts queue and the orchestrator's inbound flow into the CRM, all in memory. */
async function pipeline() {
  const clock = new ManualClock(T);
  const hub = new InMemoryIotHub({ clock, partitionCount: 2 });
  const referenceData = new InMemoryReferenceData(THERMOSTAT_DEFAULT_RULES);
  referenceData.setDeviceType('chiller-1', 'Chiller');
  referenceData.setDeviceType('thermostat-1', 'Thermostat');
  const statusStore = new InMemoryStatusStore();
  const alertsQueue = new InMemoryQueue('alerts');
  const ingest = new TelemetryIngest({
    referenceData,
    alertsQueue,
    rejected: new InMemoryRejectedTelemetry(),
    statusStore,
    log: silentLog,
    defaultDeviceType: 'Thermostat',
    commitIntervalMs: 0,
    clock,
  });
  let handled = 0;
  subscriptions.push(
    await hub.subscribe('rules', async (batch, partition) => {
      await ingest.handleBatch(batch, partition);
      handled += batch.length;
    }),
  );
  const monitor = new DeviceConnectionMonitor({
    statusStore,
    clock,
    log: silentLog,
    heartbeatIntervalMs: 60_000,
    alertsQueue,
    deviceTypes: [THERMOSTAT_DEVICE_TYPE, CHILLER],
    deviceTypeOf: (id) => referenceData.deviceTypeOf(id),
    defaultDeviceType: 'Thermostat',
  });
  const crm = new InMemoryCrm(new SequentialIds('rec'), { clock });
  const processor = new QueueProcessor(alertsQueue, (m) => new InboundAlerts({ crm, log: silentLog }).handle(m), silentLog);
  let sent = 0;
  const send = async (deviceId: string, body: Record<string, unknown>): Promise<void> => {
    await hub.send(deviceId, new TextEncoder().encode(JSON.stringify({ DeviceID: deviceId, EventToken: `${deviceId}-${sent}`, ...body })));
    sent++;
    await eventually(() => expect(handled).toBe(sent));
  };
  return { clock, statusStore, monitor, crm, processor, send };
}

describe('DeviceConnectionMonitor: going offline raises the alert the device type asks for', () => {
  it('a device whose type has an absence rule raises one IoT alert per silence, stamped when the silence reached its length; one whose type has none is only marked offline', async () => {
    const { clock, statusStore, monitor, crm, processor, send } = await pipeline();
    await send('chiller-1', { Pressure: 4.2 });
    await send('thermostat-1', { Temperature: 65 });

    clock.set(T + 100_000);
    expect(await monitor.sweep()).toEqual([]);
    clock.set(T + 121_000);
    expect((await monitor.sweep()).map((h) => h.deviceId)).toEqual(['chiller-1']);
    clock.set(T + 200_000);
    // The thermostat goes offline after three heartbeat intervals; its type asks for no alert.
    expect((await monitor.sweep()).map((h) => h.deviceId)).toEqual(['thermostat-1']);
    await processor.drainOnce();

    const token = `chiller-silent:chiller-1:${T + 120_000}`;
    expect(await crm.listIoTAlerts()).toEqual([
      expect.objectContaining({
        alertId: iotAlertRecordId({ eventToken: token, readingType: 'Message', ruleOutput: 'DeviceOffline' }),
        alertToken: token,
        deviceId: 'chiller-1',
        alertTime: T + 120_000,
      }),
    ]);
    expect(JSON.parse((await crm.listIoTAlerts())[0]!.alertData)).toMatchObject({
      deviceid: 'chiller-1',
      readingtype: 'Message',
      ruleoutput: 'DeviceOffline',
      eventtoken: token,
    });
    expect((await statusStore.listDeviceHealth()).map((h) => [h.deviceId, h.online]).sort()).toEqual([
      ['chiller-1', false],
      ['thermostat-1', false],
    ]);

    // Later sweeps of the same silence raise nothing more; the device's return and a second silence raise a second alert.
    clock.set(T + 400_000);
    await monitor.sweep();
    await send('chiller-1', { Pressure: 4.3 });
    expect((await statusStore.listDeviceHealth()).find((h) => h.deviceId === 'chiller-1')?.online).toBe(true);
    clock.set(T + 400_000 + 120_001);
    await monitor.sweep();
    await monitor.sweep();
    await processor.drainOnce();
    expect((await crm.listIoTAlerts()).map((a) => a.alertTime).sort()).toEqual([T + 120_000, T + 520_000]);
  });

  it('raises the very alert the rules engine raises for the same absence rule, so where the stream processor runs it too the two make one message and one record', async () => {
    const ruleSet = loadRuleSet({ version: 1, rules: [SILENT_RULE] });
    if (!ruleSet.ok) throw new Error(JSON.stringify(ruleSet.error));
    const engine = new RulesEngine(ruleSet.value);
    const state = emptyRulesEngineState(ruleSet.value);
    engine.evaluate(state, { deviceId: 'chiller-1', eventToken: 'e', enqueuedTime: T, readings: { Pressure: 4.2 } }, 'Chiller');
    const [fromEngine] = engine.advanceTo(state, T + 200_000).filter((o) => o.type === 'alert');

    const { clock, monitor, crm, processor, send } = await pipeline();
    await send('chiller-1', { Pressure: 4.2 });
    clock.set(T + 200_000);
    await monitor.sweep();
    await processor.drainOnce();
    const [fromMonitor] = await crm.listIoTAlerts();
    expect(fromEngine).toMatchObject({
      type: 'alert',
      eventToken: fromMonitor!.alertToken,
      time: fromMonitor!.alertTime,
      ruleOutput: 'DeviceOffline',
      reading: 120_000,
      threshold: 120_000,
    });
  });
});
