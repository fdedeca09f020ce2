import type { StoredIoTAlert } from '@fieldlink/ports';
import { aNewIoTAlert } from '@fieldlink/ports/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm } from './in-memory-crm.js';
import { SequentialIds } from './random-ids.js';

const T0 = Date.parse('2026-11-28T09:00:00Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3'];

interface AlertSpec {
  readonly device: number;
  readonly minute: number;
  readonly token: number;
}

/** Alerts in any order of time, with equal times and a token repeated now and then (an idempotent create). */
const alertsArbitrary = fc.array(
  fc.record({ device: fc.integer({ min: 0, max: DEVICES.length - 1 }), minute: fc.integer({ min: 0, max: 20 }), token: fc.integer({ min: 0, max: 40 }) }),
  { maxLength: 60 },
);

interface ModelAlert {
  readonly alertId: string;
  readonly deviceId: string;
  readonly alertTime: number;
  /** The order of creation: the later of two alerts at one time is the newer. */
  readonly created: number;
}

/**
 * The oracle, written from the port's contract and not from the adapter: one record per token (the
 * first create wins, a repeat creates nothing), ids handed out in order of creation, and listings
 * newest first by alert time, the later created first among equal times.
 */
function model(specs: readonly AlertSpec[]): ModelAlert[] {
  const seen = new Set<number>();
  const alerts: ModelAlert[] = [];
  for (const s of specs) {
    if (seen.has(s.token)) continue;
    seen.add(s.token);
    alerts.push({ alertId: `alert-${alerts.length + 1}`, deviceId: DEVICES[s.device]!, alertTime: T0 + s.minute * 60_000, created: alerts.length });
  }
  return alerts.sort((a, b) => b.alertTime - a.alertTime || b.created - a.created);
}

const summary = (alerts: readonly StoredIoTAlert[]) => alerts.map((a) => ({ alertId: a.alertId, deviceId: a.deviceId, alertTime: a.alertTime }));
const expected = (alerts: readonly ModelAlert[]) => alerts.map(({ alertId, deviceId, alertTime }) => ({ alertId, deviceId, alertTime }));

describe('InMemoryCrm alerts by device', () => {
  it('property: every listing equals a plain model of the alerts: one per token, newest first (later created first at equal times), filtered by device, time and top', async () => {
    await fc.assert(
      fc.asyncProperty(alertsArbitrary, fc.integer({ min: 0, max: 21 }), fc.integer({ min: 0, max: 5 }), async (specs, sinceMinute, top) => {
        const crm = new InMemoryCrm(new SequentialIds('alert'));
        for (const s of specs) {
          await crm.createIoTAlert(aNewIoTAlert({ deviceId: DEVICES[s.device]!, alertToken: `token-${s.token}`, alertTime: T0 + s.minute * 60_000 }));
        }
        const all = model(specs);
        const since = T0 + sinceMinute * 60_000;
        expect(summary(await crm.listIoTAlerts())).toEqual(expected(all));
        expect(summary(await crm.listIoTAlerts({ top }))).toEqual(expected(all.slice(0, top)));
        for (const deviceId of DEVICES) {
          const ofDevice = all.filter((a) => a.deviceId === deviceId);
          expect(summary(await crm.findRecentIoTAlerts(deviceId, since))).toEqual(expected(ofDevice.filter((a) => a.alertTime >= since)));
          expect(summary(await crm.listIoTAlerts({ deviceId }))).toEqual(expected(ofDevice));
          expect(summary(await crm.listIoTAlerts({ deviceId, top }))).toEqual(expected(ofDevice.slice(0, top)));
        }
      }),
    );
  });
});
