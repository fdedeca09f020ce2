import { AlertState, AlertStatus, AlertType } from '../alerts/alert-values.js';
import type { IoTAlert } from '../alerts/iot-alert.js';

/*
 * Object mothers for tests: a valid, typical value of each model type, so that a test spells out
 * only what it is about (`anIoTAlert({ deviceId: 'thermostat-2' })`) instead of every field.
 * The defaults follow the CFS thermostat sample: a reading of 86 over a threshold of 70.
 */

/** Alert times are whole seconds, as Dataverse stores them. */
export const SAMPLE_ALERT_TIME = Date.UTC(2026, 10, 28, 9, 15, 0);

/** An active anomaly alert of thermostat-1: Temperature 86 over its threshold of 70. */
export const anIoTAlert = (overrides: Partial<IoTAlert> = {}): IoTAlert => {
  const deviceId = overrides.deviceId ?? 'thermostat-1';
  return {
    alertToken: 'e4f2a6b8-3c5d-4e7f-9a1b-2c3d4e5f6a7b',
    deviceId,
    description: 'Temperature reading of 86 exceeded a threshold of 70',
    alertData: JSON.stringify({ deviceid: deviceId, readingtype: 'Temperature', reading: 86, threshold: 70 }),
    alertTime: SAMPLE_ALERT_TIME,
    alertType: AlertType.Anomaly,
    state: AlertState.Active,
    status: AlertStatus.Active,
    ...overrides,
  };
};
