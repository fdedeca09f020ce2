import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceHealth, MinuteAggregate, StatusStorePort } from '../status-store-port.js';
import { uniqueDeviceId } from './conformance-support.js';

export interface StatusStoreUnderTest {
  readonly store: StatusStorePort;
  dispose(): Promise<void>;
}

export type StatusStoreFactory = () => Promise<StatusStoreUnderTest>;

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-28T09:15:00Z');
const row = (deviceId: string, readingType: string, windowEnd: number, avg: number): MinuteAggregate => ({
  deviceId,
  readingType,
  windowEnd,
  count: 3,
  min: avg - 1,
  max: avg + 1,
  avg,
});

/**
 * What every StatusStorePort adapter must do (flow 5): per-minute aggregates upserted by
 * (device, reading type, window end), so a replayed window leaves one row; queries over
 * (from, to], oldest first, of one device only; device health replaced per device.
 */
export function statusStoreConformance(adapterName: string, factory: StatusStoreFactory): void {
  describe(`${adapterName} conforms to StatusStorePort`, () => {
    let current: StatusStoreUnderTest | undefined;
    const open = async () => (current = await factory());
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('keeps one row per device, reading type and minute: writing a window again replaces it', async () => {
      const { store } = await open();
      const deviceId = uniqueDeviceId("thermostat'status");
      await store.writeAggregates([row(deviceId, 'Temperature', T0, 70), row(deviceId, 'Humidity', T0, 40)]);
      await store.writeAggregates([row(deviceId, 'Temperature', T0, 72)]);
      const rows = await store.queryAggregates(deviceId, T0 - MINUTE, T0);
      expect(rows.sort((a, b) => a.readingType.localeCompare(b.readingType))).toEqual([
        row(deviceId, 'Humidity', T0, 40),
        row(deviceId, 'Temperature', T0, 72),
      ]);
    });

    it('answers the rows of one device with window end in (from, to], oldest first', async () => {
      const { store } = await open();
      const deviceId = uniqueDeviceId('thermostat');
      const other = uniqueDeviceId('other');
      await store.writeAggregates([3, 1, 0, 2].map((i) => row(deviceId, 'Temperature', T0 + i * MINUTE, 70 + i)));
      await store.writeAggregates([row(other, 'Temperature', T0 + MINUTE, 99)]);
      expect((await store.queryAggregates(deviceId, T0, T0 + 2 * MINUTE)).map((r) => r.windowEnd)).toEqual([T0 + MINUTE, T0 + 2 * MINUTE]);
      expect(await store.queryAggregates(uniqueDeviceId('nobody'), T0 - MINUTE, T0 + 10 * MINUTE)).toEqual([]);
    });

    it('keeps the latest health of each device', async () => {
      const { store } = await open();
      const a = uniqueDeviceId("a'health");
      const b = uniqueDeviceId('b');
      const first: DeviceHealth = { deviceId: a, lastActivityTime: T0, online: true, lastReadings: { Temperature: 70 } };
      const second: DeviceHealth = { deviceId: a, lastActivityTime: T0 + MINUTE, online: false, lastReadings: { Temperature: 71, Humidity: 40 } };
      const other: DeviceHealth = { deviceId: b, lastActivityTime: T0, online: true, lastReadings: {} };
      await store.upsertDeviceHealth(first);
      await store.upsertDeviceHealth(other);
      await store.upsertDeviceHealth(second);
      const mine = (await store.listDeviceHealth()).filter((h) => h.deviceId === a || h.deviceId === b).sort((x, y) => x.deviceId.localeCompare(y.deviceId));
      expect(mine).toEqual([second, other]);
    });

    it('keeps the latest health of each device written several at once, where the store can', async () => {
      const { store } = await open();
      if (store.upsertManyDeviceHealth === undefined) return;
      const a = uniqueDeviceId('a');
      const b = uniqueDeviceId('b');
      await store.upsertDeviceHealth({ deviceId: a, lastActivityTime: T0, online: true, lastReadings: { Temperature: 70 } });
      const latest: DeviceHealth = { deviceId: a, lastActivityTime: T0 + 2 * MINUTE, online: true, lastReadings: { Humidity: 41 } };
      const other: DeviceHealth = { deviceId: b, lastActivityTime: T0, online: false, lastReadings: {} };
      await store.upsertManyDeviceHealth([{ ...latest, lastActivityTime: T0 + MINUTE }, other, latest]);
      const mine = (await store.listDeviceHealth()).filter((h) => h.deviceId === a || h.deviceId === b).sort((x, y) => x.deviceId.localeCompare(y.deviceId));
      expect(mine).toEqual([latest, other]);
    });
  });
}
