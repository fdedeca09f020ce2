import { AlertState, AlertStatus, AlertType } from '@fieldlink/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryCrm } from './in-memory-crm.js';
import { SequentialIds } from './random-ids.js';

const T0 = Date.parse('2026-11-28T09:00:00Z');
const DEVICES = ['thermostat-1', 'thermostat-2', 'thermostat-3'];

/** Alerts in any order of time, with equal times and a token repeated now and then (an idempotent create). */
const alertsArbitrary = fc.array(fc.record({ device: fc.integer({ min: 0, max: DEVICES.length - 1 }), minute: fc.integer({ min: 0, max: 20 }), token: fc.integer({ min: 0, max: 40 }) }), { maxLength: 60 });

describe('InMemoryCrm alerts by device', () => {
  it('property: a device’s recent alerts and its listing are exactly the full newest-first listing filtered by device, time and top', async () => {
    await fc.assert(
      fc.asyncProperty(alertsArbitrary, fc.integer({ min: 0, max: 21 }), fc.integer({ min: 0, max: 5 }), async (specs, sinceMinute, top) => {
        const crm = new InMemoryCrm(new SequentialIds('alert'));
        for (const s of specs) {
          await crm.createIoTAlert({ deviceId: DEVICES[s.device]!, alertToken: `token-${s.token}`, alertTime: T0 + s.minute * 60_000, alertType: AlertType.Anomaly, state: AlertState.Active, status: AlertStatus.Active, description: 'Temperature over 70', alertData: '{}' });
        }
        const all = await crm.listIoTAlerts();
        for (const deviceId of DEVICES) {
          const ofDevice = all.filter((a) => a.deviceId === deviceId);
          expect(await crm.findRecentIoTAlerts(deviceId, T0 + sinceMinute * 60_000)).toEqual(ofDevice.filter((a) => a.alertTime >= T0 + sinceMinute * 60_000));
          expect(await crm.listIoTAlerts({ deviceId })).toEqual(ofDevice);
          expect(await crm.listIoTAlerts({ deviceId, top })).toEqual(ofDevice.slice(0, top));
        }
      }),
    );
  });
});
