import { CFS_SUPPRESSION_MS, cfsSuppressionKey } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSuppressionKey, SuppressionMemory, SuppressionView, type SuppressionChanges } from './suppression-memory.js';

const T = Date.parse('2026-11-28T09:00:00.000Z');

type Op =
  | { readonly kind: 'remember'; readonly device: number; readonly readingType: string; readonly reading: number; readonly stepMs: number }
  | { readonly kind: 'prune'; readonly stepMs: number }
  | { readonly kind: 'save'; readonly fails: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('remember' as const),
    device: fc.integer({ min: 0, max: 3 }),
    readingType: fc.constantFrom('Temperature', 'Humidity', 'a\u0000b'),
    reading: fc.constantFrom(71, 72.5, -0, 1e21),
    stepMs: fc.integer({ min: -90_000, max: 70_000 }),
  }),
  fc.record({ kind: fc.constant('prune' as const), stepMs: fc.integer({ min: 0, max: 70_000 }) }),
  fc.record({ kind: fc.constant('save' as const), fails: fc.boolean() }),
);

/** Applies stored changes as a journal's reader does. */
function replay(into: Map<string, number>, changes: SuppressionChanges): void {
  for (const [key, at] of changes.set) into.set(key, at);
  for (const key of changes.removed) into.delete(key);
}

describe('SuppressionMemory', () => {
  it('property: under any remembering, pruning and saves (some failing), it holds exactly what a plain map of string keys holds, and the saved changes replayed in order give the memory as it was at the last save', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const memory = new SuppressionMemory();
        const reference = new Map<string, number>();
        const stored = new Map<string, number>();
        let atLastSave = new Map<string, number>();
        let time = T;
        for (const o of ops) {
          if (o.kind === 'remember') {
            time += o.stepMs;
            const deviceId = `thermostat-${o.device}`;
            expect(memory.lastOver(deviceId, o.readingType, o.reading)).toBe(reference.get(cfsSuppressionKey(deviceId, o.readingType, o.reading)));
            memory.rememberOver(deviceId, o.readingType, o.reading, time);
            reference.set(cfsSuppressionKey(deviceId, o.readingType, o.reading), time);
          } else if (o.kind === 'prune') {
            time += o.stepMs;
            memory.prune(time);
            for (const [key, at] of reference) if (time - at >= CFS_SUPPRESSION_MS) reference.delete(key);
          } else {
            const changes = memory.unsaved();
            if (o.fails) continue;
            replay(stored, changes);
            memory.saved(changes);
            atLastSave = new Map(reference);
          }
          expect(new Map(memory.entries())).toEqual(reference);
          expect(memory.size).toBe(reference.size);
        }
        expect(stored).toEqual(atLastSave);
      }),
      { numRuns: 400 },
    );
  });

  it('property: pieces made later (`entriesLater`), of any size, are `entries()` as they were when it was called, in the same order, whatever the memory remembered, pruned or saved since', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), (before, after, size) => {
        const memory = new SuppressionMemory();
        let time = T;
        const apply = (ops: readonly Op[]): void => {
          for (const o of ops) {
            if (o.kind === 'remember') memory.rememberOver(`thermostat-${o.device}`, o.readingType, o.reading, (time += o.stepMs));
            else if (o.kind === 'prune') memory.prune((time += o.stepMs));
            else if (!o.fails) memory.saved(memory.unsaved());
          }
        };
        apply(before);
        const atTheTime = [...memory.entries()];
        const later = memory.entriesLater();
        apply(after);
        const pieces: Array<Array<[string, number]>> = [];
        while (!later.done) pieces.push(later.next(size));
        expect(pieces.every((p) => p.length >= 1 && p.length <= size)).toBe(true);
        expect(pieces.flat()).toEqual(atTheTime);
      }),
      { numRuns: 400 },
    );
  });

  it('property: a view reads its own changes over the memory, leaves the memory alone until commit, and commit makes the memory what the view read', () => {
    const change = fc.record({
      device: fc.integer({ min: 0, max: 2 }),
      reading: fc.constantFrom(71, 72),
      stepMs: fc.integer({ min: -70_000, max: 70_000 }),
      prune: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.record({ changes: fc.array(change, { maxLength: 6 }), commits: fc.boolean() }), { maxLength: 15 }), (batches) => {
        const memory = new SuppressionMemory();
        let time = T;
        for (const batch of batches) {
          const before = new Map(memory.entries());
          const view = new SuppressionView(memory);
          const expected = new Map(before);
          for (const c of batch.changes) {
            time += c.stepMs;
            if (c.prune) {
              view.prune(time);
              for (const [key, at] of expected) if (time - at >= CFS_SUPPRESSION_MS) expected.delete(key);
            } else {
              const deviceId = `thermostat-${c.device}`;
              view.rememberOver(deviceId, 'Temperature', c.reading, time);
              expected.set(cfsSuppressionKey(deviceId, 'Temperature', c.reading), time);
            }
            expect(new Map(view.entries())).toEqual(expected);
            for (const key of expected.keys()) {
              const { deviceId, readingType, reading } = parseSuppressionKey(key)!;
              expect(view.lastOver(deviceId, readingType, reading)).toBe(expected.get(key));
            }
          }
          expect(new Map(memory.entries())).toEqual(before);
          if (batch.commits) {
            view.commit();
            expect(new Map(memory.entries())).toEqual(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads back the keys it writes, whatever the reading type holds, and refuses what is not a key', () => {
    expect(parseSuppressionKey(cfsSuppressionKey('thermostat-1', 'a\u0000b', -1.5))).toEqual({
      deviceId: 'thermostat-1',
      readingType: 'a\u0000b',
      reading: -1.5,
    });
    expect(parseSuppressionKey('thermostat-1\u0000Temperature')).toBeUndefined();
    expect(parseSuppressionKey('thermostat-1\u0000Temperature\u0000')).toBeUndefined();
    expect(parseSuppressionKey('thermostat-1\u0000Temperature\u0000hot')).toBeUndefined();
  });
});
