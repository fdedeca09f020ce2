// Plain Node, no TypeScript, no loader: the published @fieldlink/domain evaluates the CFS alert
// rule (a devicerules.json row) and a native threshold rule over the same readings.
import assert from 'node:assert/strict';
import { RulesEngine, compileCfsDeviceRules, emptyRulesEngineState, loadRuleSet } from '@fieldlink/domain';

const reading = (temperature, second) => ({
  deviceId: 'thermostat-1',
  eventToken: `t-${second}`,
  enqueuedTime: Date.UTC(2026, 0, 1, 9, 0, second),
  readings: { Temperature: temperature },
});
const readings = [reading(65, 0), reading(72, 1), reading(66, 2)];

function alertsOf(compiled) {
  assert.ok(compiled.ok, JSON.stringify(compiled.ok ? '' : compiled.error));
  const engine = new RulesEngine(compiled.value);
  const state = emptyRulesEngineState(compiled.value);
  return readings.flatMap((r) => engine.evaluate(state, r, 'Thermostat')).filter((o) => o.type === 'alert');
}

const cfs = alertsOf(
  compileCfsDeviceRules([{ DeviceType: 'Thermostat', Temperature: 70, Humidity: null, TemperatureRuleOutput: 'AlarmTemp', HumidityRuleOutput: null }]),
);
assert.equal(cfs.length, 1, 'the CFS rule raises one alert, for the reading over 70');
assert.equal(cfs[0].eventToken, 't-1');

const native = alertsOf(
  loadRuleSet({
    version: 1,
    rules: [
      {
        id: 'too-hot',
        kind: 'threshold',
        scope: { deviceType: 'Thermostat' },
        reading: 'Temperature',
        condition: { operator: '>', value: 70 },
        severity: 'major',
        output: 'AlarmTemp',
      },
    ],
  }),
);
assert.equal(native.length, 1, 'the native rule raises one alert, for the reading over 70');
assert.equal(native[0].ruleId, 'too-hot');
console.log(`domain under plain node: CFS rule ${cfs.length} alert, native rule ${native.length} alert`);
