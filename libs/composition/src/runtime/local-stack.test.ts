import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryIotHub } from '@fieldlink/adapter-in-memory';
import { silentLog, TOKENS } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load-config.js';
import { buildPortAdapters, IN_MEMORY_FACTORIES } from '../container/port-adapters.js';
import type { FeedEvent } from '../log/event-feed.js';
import { APP_TOKENS } from '../container/app-tokens.js';
import { createLocalStack, type LocalStack } from './local-stack.js';

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const examples = (file: string): string => fileURLToPath(new URL(`../../../../apps/cli/examples/${file}`, import.meta.url));
/** The demo policy `fieldlink up` turns on. */
const DEMO = { automation: { file: examples('automation.demo.yaml') } };

const start = async (simulator: Record<string, unknown>, more: Record<string, unknown> = DEMO): Promise<LocalStack> => {
  const config = parseConfig({ simulator: { heartbeatIntervalMs: 0, ...simulator }, ...more });
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  const created = await createLocalStack(config.value, { manualFleet: true });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  stack = created.value;
  await stack.start();
  return stack;
};

describe('the local stack', () => {
  it('closes the loop in one process: reading over the threshold → CRM alert → Set Values → the device cools → acknowledged', async () => {
    const s = await start({ devices: 3, drifting: 0 });
    const events: FeedEvent[] = [];
    s.feed.subscribe((e) => events.push(e));
    const crm = s.get(TOKENS.CrmGateway);
    expect((await crm.listDevices()).map((d) => [d.deviceId, d.registrationStatus])).toEqual(expect.arrayContaining([['thermostat-1', 192350003]]));

    s.fleet.nudge('thermostat-2', 20);
    await s.fleet.tick();
    const alert = await waitFor('the CRM alert', async () => (await crm.listIoTAlerts({ deviceId: 'thermostat-2' }))[0]);
    expect(alert).toMatchObject({
      deviceId: 'thermostat-2',
      customerAssetId: 'local-asset-thermostat-2',
      description: expect.stringMatching(/^Temperature reading of 8\d(\.\d)? exceeded a threshold of 70$/),
    });

    const command = await waitFor('the Set Values command', async () => (await crm.listCommands({ deviceId: 'thermostat-2' }))[0]);
    expect(command).toMatchObject({ name: 'Set Values', parentAlertId: alert.alertId });
    expect(JSON.parse(command.message)).toEqual({ CommandName: 'Set Values', Parameters: { Reading: { Temperature: '65' } } });

    const received = await waitFor('the device to receive it', () => s.fleet.get('thermostat-2')?.lastCommand);
    expect(received).toMatchObject({ name: 'Set Values', outcome: 'completed', messageId: command.commandId });
    const before = s.fleet.get('thermostat-2')!.temperature;
    for (let i = 0; i < 3; i++) await s.fleet.tick(1_000);
    expect(s.fleet.get('thermostat-2')!.temperature).toBeLessThan(before - 2);

    const done = await waitFor('the acknowledgement', async () => {
      const c = await crm.getCommand(command.commandId);
      return c?.state === 'acknowledged' ? c : undefined;
    });
    expect(done).toMatchObject({ cfsStatus: 192350001 });
    // One root alert (later readings still over the threshold become its children) and one command: the loop closes.
    const alerts = await crm.listIoTAlerts({ deviceId: 'thermostat-2' });
    expect(alerts.filter((a) => a.parentAlertId === undefined).map((a) => a.alertId)).toEqual([alert.alertId]);
    expect(alerts.filter((a) => a.parentAlertId !== undefined).every((a) => a.parentAlertId === alert.alertId)).toBe(true);
    expect(await crm.listCommands()).toHaveLength(1);
    const steps = events.map((e) => e.event);
    expect(steps).toEqual(expect.arrayContaining(['alert.raised', 'crm.alert-created', 'command.sent', 'device.command-completed', 'command.acknowledged']));
  });

  it('records the alert only without an automation document, as CFS out of the box', async () => {
    const s = await start({ devices: 2, drifting: 0 }, {});
    const crm = s.get(TOKENS.CrmGateway);
    s.fleet.nudge('thermostat-2', 20);
    await s.fleet.tick();
    const alert = await waitFor('the CRM alert', async () => (await crm.listIoTAlerts({ deviceId: 'thermostat-2' }))[0]);
    expect(alert).toMatchObject({ state: 0, status: 1 });
    // The alert's message is settled after its automation ran (none here): nothing was requested.
    await waitFor('the alerts queue to settle', () => (s.get(TOKENS.AlertsQueue) as unknown as { activeCount: number }).activeCount === 0 || undefined);
    expect(await crm.listCommands()).toEqual([]);
  });

  it('runs a second device type end to end: pressure telemetry → AlarmPressure alert → Release Pressure → the sensor vents and answers', async () => {
    const s = await start(
      { devices: 1, drifting: 0, sensors: { deviceType: 'PressureSensor', devices: 2, drifting: 1 } },
      { deviceTypes: { file: examples('device-types.pressure.yaml') }, automation: { file: examples('automation.pressure.yaml') } },
    );
    const crm = s.get(TOKENS.CrmGateway);
    expect(await crm.findDeviceByHubId('pressuresensor-1')).toMatchObject({ deviceType: 'PressureSensor', registrationStatus: 192350003 });
    const sensors = s.sensors!;
    // 300 kPa, climbing 6,000 a minute: over 800 within six seconds of simulated time.
    for (let i = 0; i < 6; i++) await sensors.tick(1_000);
    const alert = await waitFor('the pressure alert', async () =>
      (await crm.listIoTAlerts({ deviceId: 'pressuresensor-1' })).find((a) => a.parentAlertId === undefined),
    );
    expect(alert.description).toMatch(/^Pressure reading of \d+(\.\d)? exceeded a threshold of 800$/);
    expect(JSON.parse(alert.alertData)).toMatchObject({ readingtype: 'Pressure', threshold: 800, ruleoutput: 'AlarmPressure' });
    const command = await waitFor('the Release Pressure command', async () => (await crm.listCommands({ deviceId: 'pressuresensor-1' }))[0]);
    expect(command).toMatchObject({
      name: 'Release Pressure',
      parentAlertId: alert.alertId,
      message: '{"CommandName":"Release Pressure","Parameters":{"Pressure":"300"}}',
    });
    await waitFor('the sensor to apply it', () => (sensors.get('pressuresensor-1')?.lastCommand?.outcome === 'completed' ? true : undefined));
    expect(sensors.get('pressuresensor-1')).toMatchObject({ values: { Pressure: 300 }, drifting: false });
    await waitFor('the acknowledgement', async () => ((await crm.getCommand(command.commandId))?.state === 'acknowledged' ? true : undefined));
    expect(await crm.listWorkOrders({ alertId: alert.alertId })).toMatchObject([{ incidentType: 'Pressure relief valve check', priority: 'High' }]);
    // The healthy sensor and the thermostat raised nothing; a thermostat command cannot reach a pressure sensor.
    expect(await crm.listIoTAlerts({ deviceId: 'pressuresensor-2' })).toEqual([]);
    expect(await crm.listCommands({ deviceId: 'thermostat-1' })).toEqual([]);
  });

  it("refuses a Set Values out of the device type's range, and a thermostat command to a pressure sensor, with the reason", async () => {
    const s = await start(
      { devices: 1, drifting: 0, sensors: { deviceType: 'PressureSensor', devices: 1, drifting: 0 } },
      { deviceTypes: { file: examples('device-types.pressure.yaml') } },
    );
    const requests = s.get(APP_TOKENS.CommandRequests);
    expect(await requests.request({ deviceId: 'thermostat-1', commandName: 'Set Values', parameters: { Reading: { Temperature: '1e308' } } })).toMatchObject({
      ok: false,
      error: { code: 'InvalidCommand', message: expect.stringContaining('Parameters.Reading.Temperature: expected at most 150') },
    });
    expect(await requests.request({ deviceId: 'pressuresensor-1', commandName: 'Set Values', parameters: { Reading: { Temperature: '65' } } })).toMatchObject({
      ok: false,
      error: { code: 'InvalidCommand', message: expect.stringContaining('"Set Values" is not a command of PressureSensor') },
    });
    expect(await requests.request({ deviceId: 'pressuresensor-1', commandName: 'Release Pressure', parameters: { Pressure: '-1e308' } })).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('Pressure: expected at least 0') },
    });
  });

  it('turns the CFS telemetry fixture into the CFS alert record, with the reading\u2019s event token as correlation id', async () => {
    const s = await start({ devices: 1, drifting: 0 });
    const events: FeedEvent[] = [];
    s.feed.subscribe((e) => events.push(e));
    await s.get(TOKENS.DeviceTelemetry).send('thermostat-1', readFileSync(new URL('../../../../fixtures/cfs/telemetry.thermostat.json', import.meta.url)));
    const crm = s.get(TOKENS.CrmGateway);
    const [alert] = await waitFor('the alert', async () => {
      const alerts = await crm.listIoTAlerts();
      return alerts.length > 0 ? alerts : undefined;
    });
    expect(alert).toMatchObject({
      deviceId: 'thermostat-1',
      alertToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
      description: 'Temperature reading of 86 exceeded a threshold of 70',
    });
    expect(events.find((e) => e.event === 'crm.alert-created')?.fields.correlationId).toBe('6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01');
  });

  it('routes a CRM service endpoint message from the outbound queue to the device: the CFS Create-command fixture', async () => {
    const s = await start({ devices: 1, drifting: 0 });
    const crm = s.get(TOKENS.CrmGateway);
    const fixture = readFileSync(new URL('../../../../fixtures/cfs/remote-execution-context.create-command.json', import.meta.url));
    const commandId = 'c0ffee00-1234-4abc-8def-0123456789ab';
    // The CRM holds the record the service endpoint announces.
    await crm.createCommand({ commandId, name: 'Reset Thermostat', message: '{"CommandName":"Reset Thermostat","Parameters":{}}', deviceId: 'thermostat-1' });
    await s.get(TOKENS.OutboundQueue).send([{ messageId: 'outbound-1', body: new Uint8Array(fixture), contentType: 'application/json' }]);
    const received = await waitFor('the device to receive the command', () => s.fleet.get('thermostat-1')?.lastCommand);
    expect(received).toMatchObject({ name: 'Reset Thermostat', outcome: 'completed', messageId: commandId });
    await waitFor('the acknowledgement', async () => ((await crm.getCommand(commandId))?.state === 'acknowledged' ? true : undefined));
  });

  it('registers a thermostat added later in the CRM and the hub as the fleet\u2019s others, so it connects; an id the hub refuses is refused with the reason', async () => {
    const s = await start({ devices: 1, drifting: 0 });
    const crm = s.get(TOKENS.CrmGateway);
    // Before: a device the hub does not know has its connection refused.
    const unknown = await s.fleet.addDevice('thermostat-unregistered');
    expect(unknown.ok && unknown.value.connection).toBe('failed');
    expect(await s.registerDevice('thermostat-added')).toEqual({ ok: true, value: undefined });
    expect(await crm.getDevice('thermostat-added-record')).toMatchObject({
      deviceId: 'thermostat-added',
      customerAssetId: 'local-asset-thermostat-added',
      registrationStatus: 192350003,
    });
    const added = await s.fleet.addDevice('thermostat-added');
    expect(added.ok && added.value.connection).toBe('connected');
    const refused = await s.registerDevice('bad id with spaces');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toEqual({
      code: 'RegistrationRefused',
      message: expect.stringMatching(/^the hub refused to register it: "bad id with spaces" is not a valid IoT Hub device id/),
    });
  });

  it('refuses to start with an adapter no factory builds, naming the port', async () => {
    const config = parseConfig({});
    if (!config.ok) throw new Error('default config refused');
    const context = {
      config: config.value,
      clock: { now: () => 0 },
      ids: { newId: () => 'x' },
      log: silentLog,
      deviceRules: [],
      inMemoryHub: () => new InMemoryIotHub(),
    };
    expect(await buildPortAdapters(['crm', 'alertsQueue'], context, [{ crm: IN_MEMORY_FACTORIES.crm! }])).toEqual({
      ok: false,
      error: [{ path: 'ports.alertsQueue', message: 'the "in-memory" adapter is not available in this build' }],
    });
  });
});
