/**
 * Alerts per second written through the Dynamics adapter into the emulator, one request per
 * alert against `$batch` (chunks of the adapter's batch size), in one run, with the ratio.
 * `npm run bench -w @fieldlink/dataverse-emulator-app -- [alerts] [rounds]`
 */
import { randomUUID } from 'node:crypto';
import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { AlertState, AlertStatus, AlertType } from '@fieldlink/domain';
import type { NewIoTAlert } from '@fieldlink/ports';
import { emulatorCredential, startDataverseEmulator } from '@fieldlink/dataverse-emulator';

const count = Number(process.argv[2] ?? 2_000);
const rounds = Number(process.argv[3] ?? 3);

const alerts = (): NewIoTAlert[] =>
  Array.from({ length: count }, (_, i) => ({
    alertToken: randomUUID(),
    deviceId: `thermostat-${i % 50}`,
    description: 'Temperature reading of 86 exceeded a threshold of 70',
    alertData: JSON.stringify({ deviceid: `thermostat-${i % 50}`, readingtype: 'Temperature', reading: 86, threshold: 70 }),
    alertTime: Date.parse('2026-11-28T09:15:00Z') + i * 1000,
    alertType: AlertType.Anomaly,
    state: AlertState.Active,
    status: AlertStatus.Active,
  }));

async function measure(batch: boolean): Promise<number> {
  const emulator = await startDataverseEmulator();
  try {
    const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential() });
    const work = alerts();
    const started = performance.now();
    // Same concurrency for both: the alerts go in slices of 100, as a consumer takes messages.
    for (let i = 0; i < work.length; i += 100) await crm.createIoTAlerts(work.slice(i, i + 100), { batch });
    const seconds = (performance.now() - started) / 1000;
    if (emulator.count('msdyn_iotalerts') !== count) throw new Error('not every alert was written');
    return count / seconds;
  } finally {
    await emulator.close();
  }
}

const single: number[] = [];
const batched: number[] = [];
await measure(true); // warm-up
for (let r = 0; r < rounds; r++) {
  single.push(await measure(false));
  batched.push(await measure(true));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`alerts written: ${count} per round, ${rounds} rounds (median)`);
console.log(`one request per alert: ${median(single).toFixed(0)} alerts/s`);
console.log(`$batch of 10:          ${median(batched).toFixed(0)} alerts/s`);
console.log(`ratio ($batch / single): ${(median(batched) / median(single)).toFixed(2)}x`);
