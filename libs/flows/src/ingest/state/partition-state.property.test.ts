import type { TelemetryEvent } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CfsRuleEvaluator } from '../rule-evaluator.js';
import { closedThroughAt, minuteWindowEnd, type OpenMinuteWindow } from './minute-aggregates.js';
import { changedWindows, PartitionState, storedWindows, type CommitCut, type DeviceAtCut } from './partition-state.js';

const T = Date.parse('2026-11-28T09:00:00.000Z');

interface Reading {
  readonly device: number;
  readonly readingType: string;
  readonly value: number;
  /** Event time after T: readings of up to four minute windows, some of them closed by the time they come. */
  readonly atMs: number;
}

const reading: fc.Arbitrary<Reading> = fc.record({
  device: fc.integer({ min: 0, max: 5 }),
  readingType: fc.constantFrom('Temperature', 'Humidity'),
  value: fc.integer({ min: -5, max: 5 }),
  atMs: fc.integer({ min: 0, max: 4 * 60_000 - 1 }),
});

/** One commit: readings before its cut, readings recorded while it is written, and how it ends. */
interface Commit {
  readonly before: readonly Reading[];
  readonly kind: 'checkpoint' | 'entry';
  readonly during: readonly Reading[];
  readonly stored: boolean;
}

const commit: fc.Arbitrary<Commit> = fc.record({
  before: fc.array(reading, { maxLength: 12 }),
  kind: fc.constantFrom('checkpoint' as const, 'entry' as const),
  during: fc.array(reading, { maxLength: 12 }),
  stored: fc.boolean(),
});

let token = 0;
function record(state: PartitionState, readings: readonly Reading[]): void {
  for (const r of readings) {
    const event: TelemetryEvent = {
      deviceId: `thermostat-${r.device}`,
      eventToken: `e${token++}`,
      enqueuedTime: T + r.atMs,
      readings: { [r.readingType]: r.value },
    };
    state.record(event);
    state.close(event.enqueuedTime, 60_000);
  }
}

const devicesOf = (devices: readonly DeviceAtCut[]) =>
  devices.map(({ deviceId, lastActivityTime, lastReadings }) => ({ deviceId, lastActivityTime, lastReadings: { ...lastReadings } }));

/** Everything a commit reads of its cut, as plain values. */
const readCut = (cut: CommitCut) => ({
  devices: devicesOf(cut.devices),
  changedDevices: devicesOf(cut.changedDevices),
  storedWindows: storedWindows(cut)
    .take(Number.MAX_SAFE_INTEGER)
    .map((w) => w.toJSON()),
  changedWindows: changedWindows(cut)
    .take(Number.MAX_SAFE_INTEGER)
    .map((w) => w.toJSON()),
});

describe('PartitionState', () => {
  it('property: a cut reads the same however many readings are recorded while it is written: what it holds at its taking, through any commits stored or failed before it', () => {
    fc.assert(
      fc.property(fc.array(commit, { minLength: 1, maxLength: 6 }), (commits) => {
        const state = new PartitionState(new CfsRuleEvaluator());
        for (const c of commits) {
          record(state, c.before);
          const cut = state.cut(c.kind, 0);
          const atCut = readCut(cut);
          record(state, c.during);
          expect(readCut(cut)).toEqual(atCut);
          if (c.stored) state.cutStored(cut);
          else state.cutFailed(cut);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a cut read a few windows at a time gives every window it holds, once, in the order of one read', () => {
    fc.assert(
      fc.property(
        fc.array(reading, { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('checkpoint' as const, 'entry' as const),
        (readings, size, kind) => {
          const state = new PartitionState(new CfsRuleEvaluator());
          record(state, readings);
          const cut = state.cut(kind, 0);
          const whole = storedWindows(cut).take(Number.MAX_SAFE_INTEGER);
          const windows = storedWindows(cut);
          const inSlices = [];
          while (!windows.done) {
            const slice = windows.take(size);
            expect(slice.length).toBeGreaterThan(0);
            expect(slice.length).toBeLessThanOrEqual(size);
            inSlices.push(...slice);
          }
          expect(inSlices).toEqual(whole);
          expect(new Set(whole).size).toBe(whole.length);
        },
      ),
    );
  });

  it('property: a checkpoint stores each open window as its readings make it (count, min, max, sum, first peak), whatever commits stored or failed, copies and closed windows came before', () => {
    fc.assert(
      fc.property(fc.array(commit, { minLength: 1, maxLength: 8 }), (commits) => {
        const state = new PartitionState(new CfsRuleEvaluator());
        /** What the readings make of each window, by device, reading type and end, as a model. */
        const model = new Map<string, OpenMinuteWindow>();
        let closedThrough = Number.NEGATIVE_INFINITY;
        const recordBoth = (readings: readonly Reading[]): void => {
          let n = token;
          for (const r of readings) {
            const deviceId = `thermostat-${r.device}`;
            const time = T + r.atMs;
            const windowEnd = minuteWindowEnd(time);
            const eventToken = `e${n++}`;
            if (windowEnd > closedThrough) {
              const key = `${deviceId}|${r.readingType}|${windowEnd}`;
              const w = model.get(key);
              const peak = w === undefined || r.value > w.max;
              model.set(key, {
                deviceId,
                readingType: r.readingType,
                windowEnd,
                count: (w?.count ?? 0) + 1,
                min: Math.min(w?.min ?? r.value, r.value),
                max: Math.max(w?.max ?? r.value, r.value),
                sum: (w?.sum ?? 0) + r.value,
                peakToken: peak ? eventToken : w.peakToken,
                peakTime: peak ? time : w.peakTime,
              });
            }
            closedThrough = Math.max(closedThrough, closedThroughAt(time, 60_000));
          }
          record(state, readings);
        };
        for (const c of commits) {
          recordBoth(c.before);
          const cut = state.cut(c.kind, 0);
          recordBoth(c.during);
          if (c.stored) state.cutStored(cut);
          else state.cutFailed(cut);
        }
        const checkpoint = state.cut('checkpoint', 0);
        const stored = storedWindows(checkpoint)
          .take(Number.MAX_SAFE_INTEGER)
          .map((w) => w.toJSON());
        const open = [...model.values()].filter((w) => w.windowEnd > closedThrough);
        const byKey = (w: OpenMinuteWindow): string => `${w.deviceId}|${w.readingType}|${w.windowEnd}`;
        expect(new Map(stored.map((w) => [byKey(w), w]))).toEqual(new Map(open.map((w) => [byKey(w), w])));
        expect(stored).toHaveLength(open.length);
      }),
      { numRuns: 300 },
    );
  });
});
