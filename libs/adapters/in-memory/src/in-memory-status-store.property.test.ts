import type { MinuteAggregate } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryStatusStore } from './in-memory-status-store.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 11, 7, 9, 0);

/** A row of one of three devices and two reading types, in one of 40 minutes: written in any order, often again. */
const row: fc.Arbitrary<MinuteAggregate> = fc
  .record({
    deviceId: fc.constantFrom('thermostat-1', 'thermostat-2', 'a-device-id-longer-than-twelve'),
    readingType: fc.constantFrom('Temperature', 'Humidity'),
    windowEnd: fc.integer({ min: 0, max: 39 }).map((m) => START + m * MINUTE),
    count: fc.integer({ min: 1, max: 600 }),
    min: fc.double({ min: -50, max: 150, noNaN: true }),
    max: fc.double({ min: -50, max: 150, noNaN: true }),
    avg: fc.double({ min: -50, max: 150, noNaN: true }),
    peak: fc.option(
      fc.record({
        eventToken: fc.uuid(),
        time: fc.integer({ min: START, max: START + 40 * MINUTE }),
        threshold: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
        ruleOutput: fc.option(fc.constant('Temperature too high')),
      }),
      { nil: undefined },
    ),
  })
  .map(({ peak, ...r }) => (peak === undefined ? r : { ...r, peak }));

/** The rows a query answers: the last written of each (device, reading type, window end), peak left out, oldest first. */
function expected(written: readonly MinuteAggregate[], deviceId: string, from: number, to: number): MinuteAggregate[] {
  const last = new Map<string, MinuteAggregate>();
  for (const r of written) last.set(`${r.deviceId}|${r.readingType}|${r.windowEnd}`, r);
  return [...last.values()]
    .filter((r) => r.deviceId === deviceId && r.windowEnd > from && r.windowEnd <= to)
    .sort((a, b) => a.windowEnd - b.windowEnd || a.readingType.localeCompare(b.readingType))
    .map(({ deviceId, readingType, windowEnd, count, min, max, avg }) => ({ deviceId, readingType, windowEnd, count, min, max, avg }));
}

describe('InMemoryStatusStore aggregates (property)', () => {
  it('any writes, in any order and in any slices, replayed windows among them, answer each window as last written, oldest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(row, { maxLength: 60 }), { maxLength: 8 }),
        fc.constantFrom('thermostat-1', 'thermostat-2', 'a-device-id-longer-than-twelve', 'never-wrote'),
        fc.integer({ min: -1, max: 40 }),
        fc.integer({ min: 0, max: 41 }),
        async (slices, deviceId, fromMinute, minutes) => {
          const store = new InMemoryStatusStore();
          for (const slice of slices) await store.writeAggregates(slice);
          const from = START + fromMinute * MINUTE;
          const to = from + minutes * MINUTE;
          expect(await store.queryAggregates(deviceId, from, to)).toStrictEqual(expected(slices.flat(), deviceId, from, to));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a device that writes a window a minute for longer than a series first holds keeps every one, in order', async () => {
    const store = new InMemoryStatusStore();
    const rows: MinuteAggregate[] = [];
    // Newest first, then oldest first: every row but the first goes in before the ones written already.
    for (let m = 99; m >= 0; m--) rows.push({ deviceId: 'd', readingType: 'Temperature', windowEnd: START + m * MINUTE, count: m + 1, min: m, max: m, avg: m });
    await store.writeAggregates(rows);
    const answered = await store.queryAggregates('d', START - MINUTE, START + 100 * MINUTE);
    expect(answered.map((r) => r.count)).toStrictEqual(Array.from({ length: 100 }, (_, m) => m + 1));
  });
});
