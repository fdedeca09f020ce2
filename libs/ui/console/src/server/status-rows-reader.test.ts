import { InMemoryStatusStore } from '@fieldlink/adapter-in-memory';
import type { DeviceHealth, LogPort, MinuteAggregate } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { StatusRowsReader } from './status-rows-reader.js';

const capturingLog = (): LogPort & { events: Array<[string, unknown]> } => {
  const events: Array<[string, unknown]> = [];
  const put = (event: string, fields?: object) => void events.push([event, fields]);
  return { events, info: put, warn: put, error: put };
};

const MINUTE = Date.parse('2026-11-28T09:16:00Z');
const good: MinuteAggregate = { deviceId: 'thermostat-1', readingType: 'Temperature', windowEnd: MINUTE, count: 2, min: 72, max: 86, avg: 79 };

describe('status rows as the console reads them (flow 5)', () => {
  it('passes rows that fit the status-row schema through unchanged', async () => {
    const store = new InMemoryStatusStore();
    const health: DeviceHealth = { deviceId: 'thermostat-1', lastActivityTime: MINUTE - 1000, online: true, lastReadings: { Temperature: 86 } };
    await store.writeAggregates([good, { ...good, readingType: 'Humidity', min: 41, max: 41, avg: 41, count: 1 }]);
    await store.upsertDeviceHealth(health);
    const reader = new StatusRowsReader(store);
    expect(await reader.aggregates('thermostat-1', MINUTE - 60_000, MINUTE)).toEqual([
      { ...good, readingType: 'Humidity', min: 41, max: 41, avg: 41, count: 1 },
      good,
    ]);
    expect(await reader.health()).toEqual([health]);
  });

  it('leaves out a row another writer put in the table that does not fit, and logs the column that is wrong', async () => {
    const store = new InMemoryStatusStore();
    const log = capturingLog();
    // What a table written by another deployment may hold: an average that is not a number, a half-minute window.
    await store.writeAggregates([
      good,
      { ...good, readingType: 'Humidity', avg: 'n/a' } as unknown as MinuteAggregate,
      { ...good, windowEnd: MINUTE - 30_000 },
    ]);
    await store.upsertDeviceHealth({ deviceId: 'thermostat-2', lastActivityTime: MINUTE, online: 1, lastReadings: {} } as unknown as DeviceHealth);
    const reader = new StatusRowsReader(store, log);
    expect(await reader.aggregates('thermostat-1', MINUTE - 60_000, MINUTE)).toEqual([good]);
    expect(await reader.health()).toEqual([]);
    expect(log.events).toEqual([
      ['console.status-row-unreadable', { table: 'aggregates', deviceId: 'thermostat-1', issues: expect.stringMatching(/^windowEnd: /) }],
      ['console.status-row-unreadable', { table: 'aggregates', deviceId: 'thermostat-1', issues: expect.stringMatching(/^avg: /) }],
      ['console.status-row-unreadable', { table: 'health', deviceId: 'thermostat-2', issues: expect.stringMatching(/^online: /) }],
    ]);
  });
});
