import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CfsAlertQuery, emptyCfsAlertQueryState } from './cfs-alert-query.js';
import { parseCfsDeviceRules } from './cfs-device-rules.js';

const cfs = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../../../fixtures/cfs/${name}`, import.meta.url), 'utf8'));
const rules = (() => {
  const r = parseCfsDeviceRules(cfs('devicerules.json'));
  if (!r.ok) throw new Error('fixture rules do not parse');
  return r.value;
})();
const at = (iso: string): number => Date.parse(iso);
const reading = (temperature: number, time: number, eventToken = `t-${time}`) => ({
  deviceId: 'thermostat-1',
  eventToken,
  enqueuedTime: time,
  readings: { Temperature: temperature, Humidity: 41 },
});

describe('CfsAlertQuery', () => {
  it('turns the CFS telemetry fixture into the CFS alerts-queue fixture element', () => {
    const telemetry = cfs('telemetry.thermostat.json') as { DeviceID: string; Temperature: number; Humidity: number; EventToken: string };
    const [expected] = cfs('alerts-queue.message.json') as Array<Record<string, unknown>>;
    const time = at(String(expected!['time']));
    const alerts = new CfsAlertQuery(rules).evaluate(
      emptyCfsAlertQueryState(),
      {
        deviceId: telemetry.DeviceID,
        eventToken: telemetry.EventToken,
        enqueuedTime: time,
        readings: { Temperature: telemetry.Temperature, Humidity: telemetry.Humidity },
      },
      'Thermostat',
    );
    expect(alerts).toEqual([
      {
        deviceId: expected!['deviceid'],
        readingType: expected!['readingtype'],
        reading: expected!['reading'],
        eventToken: expected!['eventtoken'],
        threshold: expected!['threshold'],
        ruleOutput: expected!['ruleoutput'],
        time,
      },
    ]);
  });

  it('raises nothing at or below the threshold, nor for a device type without rules', () => {
    const query = new CfsAlertQuery(rules);
    const state = emptyCfsAlertQueryState();
    expect(query.evaluate(state, reading(70, 0), 'Thermostat')).toEqual([]);
    expect(query.evaluate(state, reading(90, 0), 'Chiller')).toEqual([]);
  });

  it('suppresses the same reading from the same device within one minute, as the LAG clause does', () => {
    const query = new CfsAlertQuery(rules);
    const state = emptyCfsAlertQueryState();
    const t0 = at('2026-11-28T09:15:00.000Z');
    expect(query.evaluate(state, reading(86, t0), 'Thermostat')).toHaveLength(1);
    expect(query.evaluate(state, reading(86, t0 + 59_999), 'Thermostat')).toHaveLength(0);
    expect(query.evaluate(state, reading(87, t0 + 59_999), 'Thermostat')).toHaveLength(1);
    // The partition's previous event is now the suppressed one at t0 + 59.999 s.
    expect(query.evaluate(state, reading(86, t0 + 119_998), 'Thermostat')).toHaveLength(0);
    expect(query.evaluate(state, reading(86, t0 + 180_000), 'Thermostat')).toHaveLength(1);
  });

  it('prunes partitions that can no longer suppress anything', () => {
    const query = new CfsAlertQuery(rules);
    const state = emptyCfsAlertQueryState();
    query.evaluate(state, reading(86, 0), 'Thermostat');
    query.evaluate(state, reading(88, 30_000), 'Thermostat');
    query.prune(state, 60_000);
    expect([...state.lastAlertAt.values()]).toEqual([30_000]);
  });
});
