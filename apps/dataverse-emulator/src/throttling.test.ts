import { randomUUID } from 'node:crypto';
import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { SAMPLE_ALERT_TIME } from '@fieldlink/domain/testing';
import type { NewIoTAlert } from '@fieldlink/ports';
import { aNewIoTAlert } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorCredential, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

const alert = (i: number): NewIoTAlert =>
  aNewIoTAlert({ alertToken: randomUUID(), deviceId: `thermostat-${i % 7}`, alertData: JSON.stringify({ i }), alertTime: SAMPLE_ALERT_TIME + i * 1000 });

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

describe('service protection: the emulator answers 429 with Retry-After', () => {
  it('the adapter waits out Retry-After for every caller at once, and no alert is lost or written twice', async () => {
    emulator = await startDataverseEmulator({ serviceProtection: { maxRequests: 40, windowMs: 1_000 } });
    const crm = new DynamicsCrmGateway({
      organizationUrl: emulator.url,
      credential: emulatorCredential(),
      serviceProtection: { maxAttempts: 20, maxConcurrency: 4 },
    });
    const alerts = Array.from({ length: 60 }, (_, i) => alert(i));
    // Each alert is sent twice at once, as a redelivered queue message would be.
    const results = await Promise.all([...alerts, ...alerts].map((a) => crm.createIoTAlert(a)));

    const stats = emulator.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    expect(emulator.count('msdyn_iotalerts')).toBe(60);
    for (const a of alerts) {
      const found = await crm.findIoTAlertsByToken(a.alertToken);
      expect(found.map((f) => f.alertData)).toEqual([a.alertData]);
    }
    const createdIds = results.filter((r) => r.created).map((r) => r.alertId);
    expect(new Set(createdIds).size).toBe(60);
    expect(createdIds).toHaveLength(60);

    // Slowing down means: once a 429 went out, only the requests already on their way (at most
    // the concurrency cap) arrive before its Retry-After (1 s) has passed; every other caller waits.
    const firstThrottle = stats.arrivals.findIndex((a) => a.throttled);
    const t = stats.arrivals[firstThrottle]!.at;
    const duringPause = stats.arrivals.slice(firstThrottle + 1).filter((a) => a.at < t + 900);
    expect(duringPause.length).toBeLessThan(4);
  }, 60_000);
});
