import type { DeviceTypeDefinition } from '@fieldlink/domain';
import type { DeviceClientPort, DeviceConnection, DeviceMessageOutcome, ReceivedCloudToDeviceMessage } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import type { CommandAnswer } from './command-acknowledgement.js';
import { SensorFleet } from './sensor-fleet.js';

class RecordingDeviceClient implements DeviceClientPort {
  readonly sent: Array<Record<string, unknown>> = [];
  readonly handlers = new Map<string, (m: ReceivedCloudToDeviceMessage) => Promise<DeviceMessageOutcome>>();

  async connect(deviceId: string): Promise<DeviceConnection> {
    return {
      deviceId,
      sendTelemetry: async (body) => void this.sent.push(JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>),
      onCloudToDeviceMessage: (handler) => void this.handlers.set(deviceId, handler),
      reportProperties: async () => undefined,
      close: async () => undefined,
    };
  }

  deliver(deviceId: string, payload: unknown, messageId: string): Promise<DeviceMessageOutcome> {
    return this.handlers.get(deviceId)!({ messageId, body: new TextEncoder().encode(JSON.stringify(payload)) });
  }
}

const PRESSURE_SENSOR: DeviceTypeDefinition = {
  name: 'PressureSensor',
  readings: ['Pressure'],
  commands: [{ name: 'Release Pressure', parameters: { Pressure: { type: 'numericString', min: 0, max: 1000 } } }],
  defaultRules: [],
};

const setup = async () => {
  const client = new RecordingDeviceClient();
  const answers: CommandAnswer[] = [];
  let n = 0;
  const fleet = new SensorFleet({
    deviceClient: client,
    deviceType: PRESSURE_SENSOR,
    simulation: { Pressure: { normal: 300, driftPerMinute: 600 } },
    newEventToken: () => `t-${++n}`,
    acknowledge: async (_l, a) => void answers.push(a),
  });
  await fleet.addDevice('pressuresensor-1', true);
  await fleet.addDevice('pressuresensor-2');
  return { client, answers, fleet };
};

describe('SensorFleet: simulated devices of any device type', () => {
  it('sends each reading of the type, a drifting device climbing by its drift per minute', async () => {
    const { client, fleet } = await setup();
    await fleet.tick(30_000);
    expect(client.sent).toEqual([
      { DeviceID: 'pressuresensor-1', Pressure: 600, EventToken: 't-1' },
      { DeviceID: 'pressuresensor-2', Pressure: 300, EventToken: 't-2' },
    ]);
  });

  it('applies a valid command: a parameter named after a reading sets it and stops the drift; the device answers', async () => {
    const { client, answers, fleet } = await setup();
    await fleet.tick(60_000);
    expect(await client.deliver('pressuresensor-1', { CommandName: 'Release Pressure', Parameters: { Pressure: '250' } }, 'm-1')).toBe('complete');
    expect(fleet.get('pressuresensor-1')).toMatchObject({ values: { Pressure: 250 }, drifting: false });
    expect(answers).toMatchObject([{ deviceId: 'pressuresensor-1', messageId: 'm-1', commandName: 'Release Pressure', outcome: 'completed' }]);
    // The same message again is settled alike, not applied or answered again.
    expect(await client.deliver('pressuresensor-1', { CommandName: 'Release Pressure', Parameters: { Pressure: '250' } }, 'm-1')).toBe('complete');
    expect(answers).toHaveLength(1);
  });

  it('rejects a command of another type, or a value out of its range, with the reason, and changes nothing', async () => {
    const { client, answers, fleet } = await setup();
    expect(await client.deliver('pressuresensor-2', { CommandName: 'Set Values', Parameters: { Reading: { Temperature: '65' } } }, 'm-2')).toBe('reject');
    expect(await client.deliver('pressuresensor-2', { CommandName: 'Release Pressure', Parameters: { Pressure: '1e308' } }, 'm-3')).toBe('reject');
    expect(answers.map((a) => [a.outcome, a.reason])).toEqual([
      ['rejected', expect.stringContaining('"Set Values" is not a command of PressureSensor')],
      ['rejected', 'Parameters.Pressure: expected at most 1000'],
    ]);
    expect(fleet.get('pressuresensor-2')).toMatchObject({ values: { Pressure: 300 } });
  });
});
