import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeCfsAlertMessage, encodeCfsAlertMessage } from './cfs-alert-message.js';

const fixtureText = readFileSync(new URL('../../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8');

describe('CFS alerts-queue message', () => {
  it('decodes the CFS fixture and encodes it back to the same JSON', () => {
    const decoded = decodeCfsAlertMessage(fixtureText);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value[0]!.alert).toEqual({
      deviceId: 'thermostat-1',
      readingType: 'Temperature',
      reading: 86,
      eventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
      threshold: 70,
      ruleOutput: 'AlarmTemp',
      time: Date.parse('2026-11-28T09:15:02.113Z'),
    });
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

describe('CFS alerts-queue message, names in any case and numbers as written', () => {
  const lowerCase =
    '[{"deviceid":"thermostat-1","readingtype":"Temperature","reading":86.0,"eventtoken":"t-1","threshold":70.0,"ruleoutput":"AlarmTemp","time":"2026-11-28T09:15:02.113Z"}]';
  const queryCase =
    '[ { "DeviceId": "thermostat-1", "ReadingType": "Temperature", "Reading": 86.0, "EventToken": "t-1", "Threshold": 70.0, "RuleOutput": "AlarmTemp", "Time": "2026-11-28T09:15:02.113Z" } ]';

  it('decodes lower-cased columns (compatibility level 1.0) and the query\u2019s own case (later levels) to the same alert', () => {
    const lower = decodeCfsAlertMessage(lowerCase);
    const query = decodeCfsAlertMessage(queryCase);
    expect(lower.ok && query.ok).toBe(true);
    if (!lower.ok || !query.ok) return;
    expect(query.value.map((d) => d.alert)).toEqual(lower.value.map((d) => d.alert));
    expect(query.value.map((d) => d.element)).toEqual(lower.value.map((d) => d.element));
    expect(lower.value[0]!.alert).toMatchObject({ deviceId: 'thermostat-1', reading: 86, threshold: 70, ruleOutput: 'AlarmTemp' });
  });

  it('keeps each element\u2019s text as received, 86.0 still 86.0, without the whitespace between tokens', () => {
    const lower = decodeCfsAlertMessage(new TextEncoder().encode(lowerCase));
    const query = decodeCfsAlertMessage(queryCase);
    expect(lower.ok && lower.value[0]!.text).toBe(lowerCase.slice(1, -1));
    expect(query.ok && query.value[0]!.text).toBe(
      '{"DeviceId":"thermostat-1","ReadingType":"Temperature","Reading":86.0,"EventToken":"t-1","Threshold":70.0,"RuleOutput":"AlarmTemp","Time":"2026-11-28T09:15:02.113Z"}',
    );
    const fixture = decodeCfsAlertMessage(fixtureText);
    expect(fixture.ok && fixture.value[0]!.text).toContain('"reading":86.0,');
  });

  it('keeps the text of every element of a message apart, strings with commas, brackets and escapes included', () => {
    const two =
      '[{"deviceid":"d,[1]","readingtype":"Temperature","reading":1e2,"eventtoken":"t\\"]","threshold":70,"ruleoutput":"A","time":"2026-11-28T09:15:02Z","extra":{"a":[1, 2]}},\n {"deviceid":"d","readingtype":"Humidity","reading":-0.50,"eventtoken":"t","threshold":0.5,"ruleoutput":"B","time":"2026-11-28T09:15:02Z"}]';
    const decoded = decodeCfsAlertMessage(two);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value.map((d) => d.text)).toEqual([
      '{"deviceid":"d,[1]","readingtype":"Temperature","reading":1e2,"eventtoken":"t\\"]","threshold":70,"ruleoutput":"A","time":"2026-11-28T09:15:02Z","extra":{"a":[1,2]}}',
      '{"deviceid":"d","readingtype":"Humidity","reading":-0.50,"eventtoken":"t","threshold":0.5,"ruleoutput":"B","time":"2026-11-28T09:15:02Z"}',
    ]);
    for (const d of decoded.value) expect(JSON.parse(d.text)).toEqual(JSON.parse(JSON.stringify(d.element)));
  });

  it('refuses an element that names one column twice in different case', () => {
    expect(decodeCfsAlertMessage('[{"deviceid":"a","DeviceId":"b"}]')).toMatchObject({
      ok: false,
      error: [{ path: '0', message: 'names deviceid/DeviceId twice, in different case' }],
    });
  });
});
