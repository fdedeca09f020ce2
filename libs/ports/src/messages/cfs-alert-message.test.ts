import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCfsAlertMessage, encodeCfsAlertMessage } from './cfs-alert-message.js';

const fixtureText = readFileSync(new URL('../../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8');

describe('CFS alerts-queue message', () => {
  it('decodes the CFS fixture and encodes it back to the same JSON', () => {
    const decoded = decodeCfsAlertMessage(fixtureText);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value[0]!.alert).toEqual({ deviceId: 'thermostat-1', readingType: 'Temperature', reading: 86, eventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01', threshold: 70, ruleOutput: 'AlarmTemp', time: Date.parse('2026-11-28T09:15:02.113Z') });
    const encoded = new TextDecoder().decode(encodeCfsAlertMessage(decoded.value.map((d) => d.alert)));
    expect(JSON.parse(encoded)).toEqual(JSON.parse(fixtureText));
  });

  it('names the element and field that is wrong', () => {
    const bad = JSON.parse(fixtureText) as Array<Record<string, unknown>>;
    bad[0]!['reading'] = '86';
    delete bad[0]!['time'];
    const result = decodeCfsAlertMessage(JSON.stringify(bad));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((e) => e.path)).toEqual(['0.reading', '0.time']);
  });

  it('refuses an empty array', () => {
    expect(decodeCfsAlertMessage('[]')).toMatchObject({ ok: false, error: [{ path: '(root)', message: 'expected at least one alert' }] });
  });
});
