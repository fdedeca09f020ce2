import { describe, expect, it } from 'vitest';
import {
  decodeDeviceHealthRow,
  decodeDeviceHealthRows,
  decodeMinuteAggregateRow,
  decodeMinuteAggregateRows,
  encodeDeviceHealthRow,
  encodeDeviceHealthRows,
  encodeMinuteAggregateRow,
  encodeMinuteAggregateRows,
} from './status-rows.js';

const windowEnd = Date.parse('2026-11-28T09:16:00Z');
const aggregate = { deviceId: "thermostat'1", readingType: 'Temperature', windowEnd, count: 3, min: 71.5, max: 86, avg: 78.25 };
const health = {
  deviceId: 'thermostat-1',
  lastActivityTime: Date.parse('2026-11-28T09:15:02.113Z'),
  online: true,
  lastReadings: { Temperature: 86, Humidity: 41 },
};

describe('status rows (flow 5)', () => {
  it('reads an aggregate row and a health row as the port records, ignoring columns a deployment added', () => {
    expect(decodeMinuteAggregateRow({ ...aggregate, id: 17, loadedAt: '2026-11-28' })).toEqual({ ok: true, value: aggregate });
    expect(decodeDeviceHealthRow({ ...health, partition: '0' })).toEqual({ ok: true, value: health });
  });

  it('writes only the row’s own columns, which read back the same', () => {
    const withExtra = { ...aggregate, sum: 234.75 } as typeof aggregate;
    expect(encodeMinuteAggregateRow(withExtra)).toEqual(aggregate);
    expect(
      decodeMinuteAggregateRows(encodeMinuteAggregateRows([aggregate, { ...aggregate, readingType: 'Humidity', min: 41, max: 41, avg: 41, count: 1 }])),
    ).toMatchObject({ ok: true, value: [aggregate, { readingType: 'Humidity' }] });
    expect(decodeDeviceHealthRow(encodeDeviceHealthRow(health))).toEqual({ ok: true, value: health });
    expect(decodeDeviceHealthRows(encodeDeviceHealthRows([health]))).toEqual({ ok: true, value: [health] });
  });

  it('names the column that is wrong', () => {
    const paths = (r: { ok: boolean; error?: Array<{ path: string }> }) => (r.ok ? [] : r.error!.map((i) => i.path));
    expect(paths(decodeMinuteAggregateRow({ ...aggregate, windowEnd: windowEnd + 1 }))).toEqual(['windowEnd']);
    expect(paths(decodeMinuteAggregateRow({ ...aggregate, count: 0 }))).toEqual(['count']);
    expect(paths(decodeMinuteAggregateRow({ ...aggregate, min: 90 }))).toEqual(['max']);
    expect(paths(decodeMinuteAggregateRow({ ...aggregate, deviceId: 'bad/id', avg: '78' }))).toEqual(['deviceId', 'avg']);
    const { readingType: _dropped, ...noType } = aggregate;
    expect(paths(decodeMinuteAggregateRow(noType))).toEqual(['readingType']);
    expect(paths(decodeDeviceHealthRow({ ...health, online: 'yes' }))).toEqual(['online']);
    expect(paths(decodeDeviceHealthRow({ ...health, lastReadings: { Temperature: 'hot' } }))).toEqual(['lastReadings.Temperature']);
    expect(paths(decodeDeviceHealthRow({ ...health, lastActivityTime: 1.5 }))).toEqual(['lastActivityTime']);
    expect(paths(decodeDeviceHealthRows(JSON.stringify([health, { ...health, deviceId: '' }])))).toEqual(['1.deviceId']);
  });

  it('refuses a body that is not JSON at path body, never throwing', () => {
    expect(decodeMinuteAggregateRows('[{')).toMatchObject({ ok: false, error: [{ path: 'body' }] });
    expect(decodeDeviceHealthRows(new Uint8Array([0xff]))).toEqual({ ok: false, error: [{ path: 'body', message: 'is not valid UTF-8' }] });
    expect(decodeMinuteAggregateRows('{"deviceId":"thermostat-1"}')).toMatchObject({
      ok: false,
      error: [{ path: '(root)', message: 'expected an array of rows' }],
    });
  });
});
