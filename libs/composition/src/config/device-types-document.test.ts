import { describe, expect, it } from 'vitest';
import { parseDeviceTypesDocument } from './device-types-document.js';

const pressureSensor = { name: 'PressureSensor', readings: [{ name: 'Pressure', min: 0, max: 2000 }] };

describe('device type document: going offline', () => {
  it('turns `offline` into the absence rule the connection monitor raises an alert for; without it, none', () => {
    const parsed = parseDeviceTypesDocument({
      deviceTypes: [
        { ...pressureSensor, offline: { afterMs: 120_000, ruleOutput: 'DeviceOffline' } },
        { ...pressureSensor, name: 'Quiet' },
      ],
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.map((t) => t.definition.defaultRules)).toEqual([
      [{ id: 'PressureSensor-offline', kind: 'absence', scope: { deviceType: 'PressureSensor' }, forMs: 120_000, severity: 'major', output: 'DeviceOffline' }],
      [],
    ]);
  });

  it('refuses an offline time that is not a whole number of milliseconds of at least a second, naming the field', () => {
    expect(parseDeviceTypesDocument({ deviceTypes: [{ ...pressureSensor, offline: { afterMs: 10, ruleOutput: 'DeviceOffline' } }] })).toMatchObject({
      ok: false,
      error: [{ path: 'deviceTypes.0.offline.afterMs', message: 'expected at least 1000 ms' }],
    });
  });
});
