import { describe, expect, it } from 'vitest';
import { formatReport, runSystem } from './system-run.js';

describe('the system on the Azure profile, as separate processes, under faults', () => {
  it('creates every expected alert exactly once and no other, ends every command in one terminal state, dead-letters exactly the malformed messages, shows the alerts in the console, and is quiet again within the bound', async () => {
    // A fresh seed each run, printed first; FIELDLINK_SYSTEM_SEED replays one.
    const seed = Number(process.env['FIELDLINK_SYSTEM_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    const report = await runSystem({ seed, faultWindowMs: 45_000, devices: 4, write: (line) => console.log(line) });
    console.log(formatReport(report));
    expect(report.alerts.expected, 'the scripted nudges raised alerts').toBeGreaterThan(0);
    expect(report.console.alertsShown, 'the console shows the alerts').toBeGreaterThan(0);
    expect(report.failures, `seed ${seed}`).toEqual([]);
  });
});
