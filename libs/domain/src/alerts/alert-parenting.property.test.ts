import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parentFor, type ParentableAlert } from './alert-parenting.js';

describe('alert parenting', () => {
  it('always yields roots with children only (depth ≤ 1), and a child of a matching alert within the window', () => {
    const arrivals = fc.array(
      fc.record({ device: fc.constantFrom('a', 'b'), gap: fc.integer({ min: 0, max: 200_000 }), reading: fc.constantFrom('Temperature', 'Humidity') }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(arrivals, fc.boolean(), (list, byReading) => {
        const policy = { windowMs: 300_000, fields: byReading ? ['readingtype'] : [] };
        const alerts: ParentableAlert[] = [];
        let time = 0;
        list.forEach((a, i) => {
          time += a.gap;
          const candidate = { deviceId: a.device, alertTime: time, fields: { readingtype: a.reading } };
          alerts.push({ id: `alert-${i}`, ...candidate, parentId: parentFor(candidate, alerts, policy) });
        });
        const byId = new Map(alerts.map((a) => [a.id, a]));
        for (const alert of alerts) {
          if (alert.parentId === undefined) continue;
          const parent = byId.get(alert.parentId)!;
          expect(parent.parentId).toBeUndefined();
          expect(parent.deviceId).toBe(alert.deviceId);
        }
        // An alert is a root exactly when no earlier alert matches within the window.
        alerts.forEach((alert, i) => {
          const matched = alerts
            .slice(0, i)
            .some(
              (e) =>
                e.deviceId === alert.deviceId &&
                alert.alertTime - e.alertTime <= policy.windowMs &&
                (!byReading || e.fields?.['readingtype'] === alert.fields?.['readingtype']),
            );
          expect(alert.parentId !== undefined).toBe(matched);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('passes the parent of a match on, so a chain collapses to one root', () => {
    const root = { id: 'r', deviceId: 'd', alertTime: 0 };
    const child = { id: 'c', deviceId: 'd', alertTime: 240_000, parentId: 'r' };
    expect(parentFor({ deviceId: 'd', alertTime: 480_000 }, [root, child])).toBe('r');
    expect(parentFor({ deviceId: 'd', alertTime: 900_000 }, [root, child])).toBeUndefined();
  });
});
