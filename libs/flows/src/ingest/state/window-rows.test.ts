import { describe, expect, it } from 'vitest';
import { WindowRows } from './window-rows.js';

const END = Date.parse('2026-11-28T09:01:00.000Z');

describe('WindowRows', () => {
  it('keeps every row through growth: 1,000 windows read back as they were made', () => {
    const rows = new WindowRows();
    const made = Array.from({ length: 1_000 }, (_, i) => rows.add(i % 2 === 0 ? 'Temperature' : 'Humidity', END + i * 60_000, i, 0, `e${i}`, END - 1));
    expect(rows.size).toBe(1_000);
    expect(made.map((row) => rows.window(row, 'thermostat-1').toJSON())).toEqual(
      made.map((_, i) => ({
        deviceId: 'thermostat-1',
        readingType: i % 2 === 0 ? 'Temperature' : 'Humidity',
        windowEnd: END + i * 60_000,
        count: 1,
        min: i,
        max: i,
        sum: i,
        peakToken: `e${i}`,
        peakTime: END - 1,
      })),
    );
  });

  it('takes readings as a minute window does: count and sum of all, min and max, the first event of the maximum as the peak', () => {
    const rows = new WindowRows();
    const row = rows.add('Temperature', END, 70, 0, 'e1', END - 50_000);
    rows.take(row, 72, 'e2', END - 40_000);
    rows.take(row, 72, 'e3', END - 30_000);
    rows.take(row, 65, 'e4', END - 20_000);
    expect(rows.window(row, 'thermostat-1')).toMatchObject({ count: 4, min: 65, max: 72, sum: 279, peakToken: 'e2', peakTime: END - 40_000 });
  });

  it('a copy changes apart from its original, and a row given back is the next one used', () => {
    const rows = new WindowRows();
    const original = rows.add('Temperature', END, 70, 0, 'e1', END - 50_000);
    const copy = rows.copy(original, 1);
    rows.take(copy, 75, 'e2', END - 10_000);
    expect(rows.window(original, 'd').toJSON()).toMatchObject({ count: 1, max: 70, peakToken: 'e1' });
    expect(rows.window(copy, 'd').toJSON()).toMatchObject({ count: 2, max: 75, peakToken: 'e2' });
    expect([rows.changedIn(original), rows.changedIn(copy)]).toEqual([0, 1]);
    rows.release(original);
    expect(rows.size).toBe(1);
    expect(rows.add('Humidity', END, 40, 2, 'e3', END - 5_000)).toBe(original);
    expect(rows.window(original, 'd').toJSON()).toMatchObject({ readingType: 'Humidity', count: 1, max: 40, peakToken: 'e3' });
  });

  it('a stored window of an earlier version, with no peak, reads back with none', () => {
    const rows = new WindowRows();
    const row = rows.addStored({ deviceId: 'd', readingType: 'Temperature', windowEnd: END, count: 2, min: 1, max: 3, sum: 4 }, -1);
    expect(rows.window(row, 'd')).toMatchObject({ peakToken: undefined, peakTime: undefined });
    expect(JSON.parse(JSON.stringify(rows.window(row, 'd')))).toEqual({
      deviceId: 'd',
      readingType: 'Temperature',
      windowEnd: END,
      count: 2,
      min: 1,
      max: 3,
      sum: 4,
    });
  });
});
