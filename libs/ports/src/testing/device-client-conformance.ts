import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnectionError, type DeviceClientPort, type DeviceConnection } from '../device-client-port.js';
import type { DeviceRegistryPort } from '../device-registry-port.js';
import type { TelemetryEnvelope, TelemetryIntakePort } from '../telemetry-intake-port.js';
import { eventually, textOf, uniqueDeviceId, utf8 } from './conformance-support.js';

export interface DeviceClientUnderTest {
  readonly devices: DeviceClientPort;
  /** The same hub's registry: to create devices and read their twins. */
  readonly registry: DeviceRegistryPort;
  /** The same hub's telemetry stream, where what devices send arrives. */
  readonly telemetry: TelemetryIntakePort;
  /** A consumer group of the telemetry stream the suite may read (e.g. `$Default`). */
  readonly consumerGroup: string;
  dispose(): Promise<void>;
  /** How long to wait for telemetry or twin changes, in real time; 10 s when not given. */
  readonly patienceMs?: number;
}

export type DeviceClientFactory = () => Promise<DeviceClientUnderTest>;

/**
 * What every DeviceClientPort adapter must do (the device's side of flows 1–2 and 16–19):
 * connect only as a registered device, send telemetry that arrives in the hub's stream under the
 * device's own id and in order, report properties into the twin (merge patch), and keep the
 * twin's connection state and last activity, and the registry's list of connected devices. Receiving cloud-to-device messages is checked by
 * the cloud-to-device suite, which plays the device with this port.
 */
export function deviceClientConformance(adapterName: string, factory: DeviceClientFactory): void {
  describe(`${adapterName} conforms to DeviceClientPort`, () => {
    let current: DeviceClientUnderTest | undefined;
    const closers: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      await current?.dispose();
      current = undefined;
    });

    const open = async () => {
      const harness = (current = await factory());
      const patience = harness.patienceMs ?? 10_000;
      const connect = async (prefix: string): Promise<DeviceConnection> => {
        const deviceId = uniqueDeviceId(prefix);
        const [result] = await harness.registry.registerDevices([{ deviceId }]);
        expect(result).toMatchObject({ ok: true });
        const connection = await harness.devices.connect(deviceId);
        closers.push(() => connection.close());
        return connection;
      };
      return { harness, patience, connect };
    };

    it('sends telemetry that arrives in the stream under the device id, with its properties, in order', async () => {
      const { harness, patience, connect } = await open();
      const received: TelemetryEnvelope[] = [];
      const subscription = await harness.telemetry.subscribe(harness.consumerGroup, async (batch) => {
        received.push(...batch);
      });
      closers.push(() => subscription.close());
      const device = await connect("thermostat'client");
      for (let i = 0; i < 5; i++)
        await device.sendTelemetry(utf8(JSON.stringify({ DeviceID: device.deviceId, Temperature: 60 + i, EventToken: `t${i}` })), { source: 'conformance' });
      const mine = await eventually(() => {
        const got = received.filter((e) => e.connectionDeviceId === device.deviceId);
        expect(got).toHaveLength(5);
        return got;
      }, patience);
      expect(mine.map((e) => (JSON.parse(textOf(e.body)) as { Temperature: number }).Temperature)).toEqual([60, 61, 62, 63, 64]);
      expect(mine[0]!.properties).toMatchObject({ source: 'conformance' });
    });

    it('reports properties into the twin as a merge patch, leaving desired properties alone', async () => {
      const { harness, patience, connect } = await open();
      const device = await connect('reporting');
      await harness.registry.updateTwin(device.deviceId, { desiredProperties: { TargetTemperature: 21 } });
      await device.reportProperties({ firmware: '1.0', sensor: { kind: 'pt100', calibrated: true } });
      await device.reportProperties({ sensor: { calibrated: null }, firmware: '1.1' });
      const twin = await eventually(async () => {
        const t = (await harness.registry.getTwin(device.deviceId))!;
        expect(t.reported).toMatchObject({ firmware: '1.1', sensor: { kind: 'pt100' } });
        return t;
      }, patience);
      expect(twin.reported).not.toHaveProperty('sensor.calibrated');
      expect(twin.desired).toMatchObject({ TargetTemperature: 21 });
    });

    it('marks the twin Connected with a last activity time while connected, and Disconnected after close', async () => {
      const { harness, patience, connect } = await open();
      const device = await connect('presence');
      await device.sendTelemetry(utf8('{}'));
      const connected = await eventually(async () => {
        const t = (await harness.registry.getTwin(device.deviceId))!;
        expect(t.connectionState).toBe('Connected');
        return t;
      }, patience);
      expect(typeof connected.lastActivityTime).toBe('number');
      await device.close();
      await eventually(async () => expect((await harness.registry.getTwin(device.deviceId))!.connectionState).toBe('Disconnected'), patience);
    });

    it('lists a device among the connected devices while it is connected, and no longer after close', async () => {
      const { harness, patience, connect } = await open();
      const device = await connect('listed');
      await device.sendTelemetry(utf8('{}'));
      // The registry's query reads an index the hub updates a little after the connection changes.
      await eventually(async () => expect(await harness.registry.connectedDeviceIds()).toContain(device.deviceId), patience);
      await device.close();
      await eventually(async () => expect(await harness.registry.connectedDeviceIds()).not.toContain(device.deviceId), patience);
    });

    it('refuses to connect as a device the hub does not know', async () => {
      const { harness } = await open();
      await expect(harness.devices.connect(uniqueDeviceId('unregistered'))).rejects.toThrow();
    });

    it('refuses to send on a closed connection', async () => {
      const { connect } = await open();
      const device = await connect('closed');
      await device.close();
      await expect(device.sendTelemetry(utf8('{}'))).rejects.toSatisfy((e: unknown) => e instanceof DeviceConnectionError && e.code === 'ConnectionClosed');
    });

    it('refuses a second cloud-to-device handler on one connection, with HandlerExists', async () => {
      const { connect } = await open();
      const device = await connect('twice');
      device.onCloudToDeviceMessage(async () => 'complete');
      expect(() => device.onCloudToDeviceMessage(async () => 'complete')).toThrow(
        expect.objectContaining({ name: 'DeviceConnectionError', code: 'HandlerExists' }),
      );
    });
  });
}
