import { readCommandAck } from '@fieldlink/flows';
import type { DeviceClientPort, DeviceConnection, DeviceMessageOutcome, ReceivedCloudToDeviceMessage } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import type { CommandAnswer } from './command-acknowledgement.js';
import { ThermostatFleet, type ThermostatFleetOptions } from './thermostat-fleet.js';
import type { FleetEvent } from './thermostat-view.js';

/** The device side of a hub, recorded: what each device sent, and a way to deliver it a command. */
class RecordingDeviceClient implements DeviceClientPort {
  readonly sent: Array<{ deviceId: string; body: Record<string, unknown>; properties?: Readonly<Record<string, string>> }> = [];
  readonly handlers = new Map<string, (m: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>>();
  readonly closed: string[] = [];
  refuse = new Set<string>();

  async connect(deviceId: string): Promise<DeviceConnection> {
    if (this.refuse.has(deviceId)) throw new Error(`device ${deviceId} is not registered`);
    return {
      deviceId,
      sendTelemetry: async (body, properties) => {
        this.sent.push({
          deviceId,
          body: JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>,
          ...(properties === undefined ? {} : { properties }),
        });
      },
      onCloudToDeviceMessage: (handler) => void this.handlers.set(deviceId, handler),
      reportProperties: async () => undefined,
      close: async () => void this.closed.push(deviceId),
    };
  }

  deliver(deviceId: string, payload: unknown, messageId = 'c2d-1'): Promise<DeviceMessageOutcome> {
    const body = new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
    return this.handlers.get(deviceId)!({ messageId, body, correlationId: 'corr-1' });
  }
}

const setup = (options: Partial<ThermostatFleetOptions> = {}) => {
  const client = new RecordingDeviceClient();
  const answers: CommandAnswer[] = [];
  let n = 0;
  const fleet = new ThermostatFleet({
    deviceClient: client,
    random: () => 0.5,
    newEventToken: () => `token-${++n}`,
    clock: { now: () => 1_000 },
    acknowledge: async (_link, answer) => void answers.push(answer),
    ...options,
  });
  const events: FleetEvent[] = [];
  fleet.subscribe((e) => events.push(e));
  return { client, fleet, answers, events };
};

describe('ThermostatFleet', () => {
  it('connects each thermostat as itself and sends the CFS telemetry message every tick', async () => {
    const { client, fleet } = setup();
    await fleet.addDevice('thermostat-1', { temperature: 65, humidity: 40 });
    await fleet.addDevice('thermostat-2');
    await fleet.tick();
    expect(client.sent).toEqual([
      {
        deviceId: 'thermostat-1',
        body: { DeviceID: 'thermostat-1', Temperature: 65, Humidity: 40, EventToken: 'token-1' },
        properties: { messageType: 'telemetry' },
      },
      {
        deviceId: 'thermostat-2',
        body: { DeviceID: 'thermostat-2', Temperature: 62, Humidity: 45, EventToken: 'token-2' },
        properties: { messageType: 'telemetry' },
      },
    ]);
    expect(fleet.get('thermostat-1')).toMatchObject({ connection: 'connected', telemetrySent: 1, lastSentAt: 1_000 });
  });

  it('refuses a device id IoT Hub would refuse, and a second device with the same id', async () => {
    const { fleet } = setup();
    expect(await fleet.addDevice('bad id')).toMatchObject({
      ok: false,
      error: { code: 'InvalidDeviceId', path: 'deviceId', message: expect.stringContaining('not an IoT Hub device id') },
    });
    await fleet.addDevice('t-1');
    expect(await fleet.addDevice('t-1')).toEqual({ ok: false, error: { code: 'DeviceExists', path: 'deviceId', message: '"t-1" is in the fleet already' } });
  });

  it('keeps a thermostat whose connection failed, says why, and connects it again on request', async () => {
    const { client, fleet } = setup();
    client.refuse.add('t-1');
    await fleet.addDevice('t-1');
    expect(fleet.get('t-1')).toMatchObject({ connection: 'failed', connectionError: 'device t-1 is not registered' });
    await fleet.tick();
    expect(client.sent).toEqual([]);
    client.refuse.clear();
    await fleet.reconnect('t-1');
    expect(fleet.get('t-1')?.connection).toBe('connected');
  });

  it('drifts a failing unit upwards and lets a nudge move the temperature at once', async () => {
    const { fleet } = setup();
    await fleet.addDevice('t-1', { temperature: 68 });
    fleet.setDrift('t-1', 60);
    await fleet.tick(1_000);
    expect(fleet.get('t-1')?.temperature).toBe(69);
    expect(fleet.nudge('t-1', 10)).toMatchObject({ ok: true, value: { temperature: 79 } });
    expect(fleet.nudge('nobody', 1)).toEqual({
      ok: false,
      error: { code: 'DeviceNotFound', path: 'deviceId', message: 'no thermostat "nobody" in the fleet' },
    });
  });

  it('sends nothing while paused, heartbeats included, and resumes when unpaused', async () => {
    const { client, fleet } = setup();
    await fleet.addDevice('t-1');
    fleet.setPaused('t-1', true);
    await fleet.tick();
    await fleet.sendHeartbeats();
    expect(client.sent).toEqual([]);
    fleet.setPaused('t-1', false);
    await fleet.sendHeartbeats();
    expect(client.sent).toEqual([{ deviceId: 't-1', body: { DeviceID: 't-1', EventToken: 'token-1' }, properties: { messageType: 'heartbeat' } }]);
  });

  it('completes Set Values with numbers as strings, then moves towards the new values and holds them', async () => {
    const { client, fleet, answers } = setup();
    await fleet.addDevice('t-1', { temperature: 75 });
    fleet.setDrift('t-1', 30);
    expect(await client.deliver('t-1', { CommandName: 'Set Values', Parameters: { Reading: { Temperature: '30', Humidity: '30' } } })).toBe('complete');
    expect(fleet.get('t-1')).toMatchObject({
      target: 30,
      humidityTarget: 30,
      lastCommand: { name: 'Set Values', outcome: 'completed', messageId: 'c2d-1', correlationId: 'corr-1' },
    });
    const temperatures: number[] = [];
    for (let i = 0; i < 60; i++) {
      await fleet.tick(1_000);
      temperatures.push(fleet.get('t-1')!.temperature);
    }
    expect(temperatures[0]).toBe(74);
    expect(temperatures.every((t, i) => i === 0 || t <= temperatures[i - 1]!)).toBe(true);
    expect(fleet.get('t-1')).toMatchObject({ temperature: 30, humidity: 30, driftPerMinute: 0 });
    expect(answers).toEqual([{ deviceId: 't-1', messageId: 'c2d-1', correlationId: 'corr-1', commandName: 'Set Values', outcome: 'completed', at: 1_000 }]);
  });

  it('records a Notification message and goes back to its defaults on Reset Thermostat', async () => {
    const { client, fleet } = setup();
    await fleet.addDevice('t-1', { temperature: 64, target: 64 });
    fleet.nudge('t-1', 20);
    fleet.setDrift('t-1', 5);
    expect(await client.deliver('t-1', { CommandName: 'Notification', Parameters: { Message: 'Technician has been dispatched' } })).toBe('complete');
    expect(fleet.get('t-1')?.lastNotification).toEqual({ message: 'Technician has been dispatched', receivedAt: 1_000 });
    expect(await client.deliver('t-1', { CommandName: 'Reset Thermostat', Parameters: {} }, 'c2d-2')).toBe('complete');
    expect(fleet.get('t-1')).toMatchObject({ temperature: 64, target: 64, driftPerMinute: 0, lastCommand: { name: 'Reset Thermostat', outcome: 'completed' } });
  });

  it('applies and answers a message id once: a copy is settled alike (complete or reject) without being applied or answered again', async () => {
    const { client, fleet, answers, events } = setup();
    await fleet.addDevice('t-1', { temperature: 64, target: 64 });
    const reset = { CommandName: 'Reset Thermostat', Parameters: {} };
    expect(await client.deliver('t-1', reset, 'c2d-reset')).toBe('complete');
    fleet.nudge('t-1', 20);
    // The same command again under the same id (the cloud sent it twice): the nudge stays.
    expect(await client.deliver('t-1', reset, 'c2d-reset')).toBe('complete');
    expect(fleet.get('t-1')?.temperature).toBe(84);
    expect(await client.deliver('t-1', { CommandName: 'Self Destruct', Parameters: {} }, 'c2d-bad')).toBe('reject');
    expect(await client.deliver('t-1', { CommandName: 'Self Destruct', Parameters: {} }, 'c2d-bad')).toBe('reject');
    expect(answers.map((a) => [a.messageId, a.outcome])).toEqual([
      ['c2d-reset', 'completed'],
      ['c2d-bad', 'rejected'],
    ]);
    expect(events.filter((e) => e.type === 'command-received')).toHaveLength(2);
    // A new id is a new command.
    expect(await client.deliver('t-1', reset, 'c2d-reset-2')).toBe('complete');
    expect(fleet.get('t-1')?.temperature).toBe(64);
  });

  it('applies a copy that arrives while the first is still being answered only once', async () => {
    let release: () => void = () => undefined;
    const answering = new Promise<void>((r) => (release = r));
    const answers: string[] = [];
    const { client, fleet } = setup({
      acknowledge: async (_link, a) => {
        answers.push(a.messageId);
        await answering;
      },
    });
    await fleet.addDevice('t-1', { temperature: 64, target: 64 });
    fleet.nudge('t-1', 20);
    const first = client.deliver('t-1', { CommandName: 'Reset Thermostat', Parameters: {} }, 'c2d-1');
    fleet.nudge('t-1', 5);
    expect(await client.deliver('t-1', { CommandName: 'Reset Thermostat', Parameters: {} }, 'c2d-1')).toBe('complete');
    release();
    expect(await first).toBe('complete');
    expect(answers).toEqual(['c2d-1']);
    expect(fleet.get('t-1')?.temperature).toBe(69);
  });

  it('remembers only the last rememberedMessages ids: an id older than that is handled as new', async () => {
    const { client, fleet, answers } = setup({ rememberedMessages: 2 });
    await fleet.addDevice('t-1');
    const note = (m: string) => ({ CommandName: 'Notification', Parameters: { Message: m } });
    for (const id of ['a', 'b', 'c', 'c', 'b', 'a']) await client.deliver('t-1', note(id), id);
    expect(answers.map((a) => a.messageId)).toEqual(['a', 'b', 'c', 'a']);
  });

  it.each([
    ['an unknown command', { CommandName: 'Self Destruct', Parameters: {} }, 'CommandName: "Self Destruct" is not a thermostat command'],
    [
      'non-numeric Set Values',
      { CommandName: 'Set Values', Parameters: { Reading: { Temperature: 'warm' } } },
      'Parameters.Reading.Temperature: expected a number',
    ],
    ['a Notification without a message', { CommandName: 'Notification', Parameters: { Message: '' } }, 'Parameters.Message: expected a non-empty string'],
    ['a body that is not JSON', '{"CommandName":', 'body: is not JSON'],
  ])('rejects %s with the reason, and changes nothing', async (_what, payload, reason) => {
    const { client, fleet, answers, events } = setup();
    await fleet.addDevice('t-1', { temperature: 64 });
    expect(await client.deliver('t-1', payload)).toBe('reject');
    expect(fleet.get('t-1')).toMatchObject({ temperature: 64, target: 62, lastCommand: { outcome: 'rejected', reason: expect.stringContaining(reason) } });
    expect(answers).toMatchObject([{ outcome: 'rejected', reason: expect.stringContaining(reason) }]);
    expect(events.filter((e) => e.type === 'command-received')).toHaveLength(1);
  });

  it('closes the connection of a removed thermostat and tells subscribers', async () => {
    const { client, fleet, events } = setup();
    await fleet.addDevice('t-1');
    expect(await fleet.removeDevice('t-1')).toEqual({ ok: true, value: undefined });
    expect(client.closed).toEqual(['t-1']);
    expect(fleet.list()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['device-added', 'device-changed', 'device-removed']);
  });

  it('answers with the CommandAck message the flows read: Applied for a completed command, Refused with the reason otherwise', async () => {
    const { client, fleet } = setup({ acknowledge: undefined });
    await fleet.addDevice('t-1');
    await client.deliver('t-1', { CommandName: 'Reset Thermostat', Parameters: {} }, 'cmd-1');
    await client.deliver('t-1', { CommandName: 'Set Values', Parameters: { Reading: { Temperature: 'cold' } } }, 'cmd-2');
    const acks = client.sent.filter((m) => m.properties?.['messageType'] === 'commandAck').map((m) => readCommandAck(m.body));
    expect(acks).toEqual([
      { ok: true, ack: { commandId: 'cmd-1', status: 'Applied' } },
      { ok: true, ack: { commandId: 'cmd-2', status: 'Refused', reason: expect.stringContaining('Parameters.Reading.Temperature') } },
    ]);
  });
});
