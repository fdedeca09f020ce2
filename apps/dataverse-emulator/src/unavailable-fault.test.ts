// The emulator's 503 fault: for a window every request is answered 503 Service Unavailable; the
// Dynamics adapter retries with back-off and the write lands once, after the window.
import { randomUUID } from 'node:crypto';
import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { SAMPLE_ALERT_TIME } from '@fieldlink/domain/testing';
import { aNewIoTAlert } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorCredential, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

describe('the emulator unavailable (503) for a window', () => {
  it('answers every request 503 while the window lasts, and the adapter retries until the write lands, once', async () => {
    emulator = await startDataverseEmulator();
    const started = Date.now();
    emulator.unavailable(1_500);
    const raw = await fetch(`${emulator.webApiUrl}msdyn_iotalerts`, { headers: { authorization: 'Bearer any' } });
    expect(raw.status).toBe(503);
    expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/temporarily unavailable/);

    const crm = new DynamicsCrmGateway({
      organizationUrl: emulator.url,
      credential: emulatorCredential(),
      serviceProtection: { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 400 },
    });
    const alert = aNewIoTAlert({ alertToken: randomUUID(), deviceId: 'thermostat-1', alertTime: SAMPLE_ALERT_TIME });
    const created = await crm.createIoTAlert(alert);
    expect(created.created).toBe(true);
    // It could only land once the window was over, after retries answered 503.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(emulator.stats().unavailable).toBeGreaterThan(1);
    expect(emulator.count('msdyn_iotalerts')).toBe(1);
    expect((await crm.findIoTAlertsByToken(alert.alertToken)).map((a) => a.alertData)).toEqual([alert.alertData]);
  });
});
