import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegistryError, type DeviceRegistryPort } from '../device-registry-port.js';
import { uniqueDeviceId } from './conformance-support.js';

export interface DeviceRegistryUnderTest {
  readonly registry: DeviceRegistryPort;
  dispose(): Promise<void>;
}

export type DeviceRegistryFactory = () => Promise<DeviceRegistryUnderTest>;

const isRegistryError = (code: string) => (e: unknown) => e instanceof DeviceRegistryError && e.code === code;

/**
 * What every DeviceRegistryPort adapter must do (flows 16′–18′ and the twin update): one result
 * per device in the order given, one bad device failing alone, idempotent registration,
 * devices created enabled with their tags and desired properties, and JSON merge patch on twins.
 */
export function deviceRegistryConformance(adapterName: string, factory: DeviceRegistryFactory): void {
  describe(`${adapterName} conforms to DeviceRegistryPort`, () => {
    let current: DeviceRegistryUnderTest | undefined;
    const open = async (): Promise<DeviceRegistryUnderTest> => (current = await factory());
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('registers devices enabled, with their tags and desired properties, one result each in order', async () => {
      const { registry } = await open();
      const lobby = uniqueDeviceId('lobby');
      const server = uniqueDeviceId("server'room");
      const results = await registry.registerDevices([
        { deviceId: lobby, tags: { site: 'lobby', floor: 1 }, desiredProperties: { TargetTemperature: 21 } },
        { deviceId: server },
      ]);
      expect(results).toEqual([
        { deviceId: lobby, ok: true, existed: false },
        { deviceId: server, ok: true, existed: false },
      ]);
      expect(await registry.getTwin(lobby)).toMatchObject({
        deviceId: lobby,
        status: 'enabled',
        connectionState: 'Disconnected',
        tags: { site: 'lobby', floor: 1 },
        desired: { TargetTemperature: 21 },
        reported: {},
      });
      expect(await registry.getTwin(server)).toMatchObject({ deviceId: server, status: 'enabled', tags: {}, desired: {} });
    });

    it('fails only the device whose id the hub refuses, and registers the others', async () => {
      const { registry } = await open();
      const before = uniqueDeviceId('ok-before');
      const after = uniqueDeviceId('ok-after');
      const results = await registry.registerDevices([{ deviceId: before }, { deviceId: 'has space' }, { deviceId: 'x'.repeat(129) }, { deviceId: after }]);
      expect(results.map((r) => [r.deviceId, r.ok])).toEqual([
        [before, true],
        ['has space', false],
        ['x'.repeat(129), false],
        [after, true],
      ]);
      const refused = results[1]!;
      expect(!refused.ok && refused.error).toEqual({ code: 'InvalidDeviceId', message: expect.stringMatching(/\S/) });
      expect(await registry.getTwin(before)).toMatchObject({ status: 'enabled' });
      expect(await registry.getTwin(after)).toMatchObject({ status: 'enabled' });
    });

    it('registers a device again without failing: it exists, and its tags and desired properties are applied again', async () => {
      const { registry } = await open();
      const deviceId = uniqueDeviceId('again');
      await registry.registerDevices([{ deviceId, tags: { site: 'lobby' }, desiredProperties: { TargetTemperature: 21 } }]);
      const results = await registry.registerDevices([{ deviceId, tags: { site: 'roof' }, desiredProperties: { TargetTemperature: 19 } }]);
      expect(results).toEqual([{ deviceId, ok: true, existed: true }]);
      expect(await registry.getTwin(deviceId)).toMatchObject({ status: 'enabled', tags: { site: 'roof' }, desired: { TargetTemperature: 19 } });
    });

    it('merges a twin patch: nested keys merge, null removes a key, untouched keys stay, the version grows', async () => {
      const { registry } = await open();
      const deviceId = uniqueDeviceId("twin'patch");
      await registry.registerDevices([
        {
          deviceId,
          tags: { site: 'lobby', location: { building: 'A', floor: 1 } },
          desiredProperties: { TargetTemperature: 21, Fan: { speed: 2, mode: 'auto' } },
        },
      ]);
      const before = (await registry.getTwin(deviceId))!;
      const after = await registry.updateTwin(deviceId, {
        tags: { location: { floor: 2 }, site: null },
        desiredProperties: { Fan: { mode: null }, Schedule: 'weekdays' },
      });
      expect(after.tags).toEqual({ location: { building: 'A', floor: 2 } });
      expect(after.desired).toMatchObject({ TargetTemperature: 21, Fan: { speed: 2 }, Schedule: 'weekdays' });
      expect(after.desired).not.toHaveProperty('Fan.mode');
      expect(after.version).toBeGreaterThan(before.version);
      expect(await registry.getTwin(deviceId)).toMatchObject({ tags: after.tags, desired: after.desired });
    });

    it('patches only tags when only tags are given', async () => {
      const { registry } = await open();
      const deviceId = uniqueDeviceId('tags-only');
      await registry.registerDevices([{ deviceId, tags: { site: 'lobby' }, desiredProperties: { TargetTemperature: 21 } }]);
      const after = await registry.updateTwin(deviceId, { tags: { owner: 'facilities' } });
      expect(after).toMatchObject({ tags: { site: 'lobby', owner: 'facilities' }, desired: { TargetTemperature: 21 } });
    });

    it('refuses to patch the twin of an unknown device with DeviceNotFound', async () => {
      const { registry } = await open();
      await expect(registry.updateTwin(uniqueDeviceId('nobody'), { tags: { a: 1 } })).rejects.toSatisfy(isRegistryError('DeviceNotFound'));
    });

    it('does not list a registered device that never connected among the connected devices', async () => {
      const { registry } = await open();
      const idle = uniqueDeviceId('never-connected');
      await registry.registerDevices([{ deviceId: idle }]);
      const connected = await registry.connectedDeviceIds();
      expect(Array.isArray(connected)).toBe(true);
      expect(connected).not.toContain(idle);
    });

    it('reads twins of known devices and nothing for unknown ones', async () => {
      const { registry } = await open();
      const a = uniqueDeviceId('a');
      const b = uniqueDeviceId("b'quoted");
      await registry.registerDevices([{ deviceId: a }, { deviceId: b }]);
      expect(await registry.getTwin(uniqueDeviceId('nobody'))).toBeUndefined();
      const twins = await registry.getTwins([b, uniqueDeviceId('nobody'), a]);
      expect(twins.map((t) => t.deviceId).sort()).toEqual([a, b].sort());
    });
  });
}
