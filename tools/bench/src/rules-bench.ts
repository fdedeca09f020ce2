// Rules engine benchmark: readings per second through the CFS threshold rule, a one-minute
// tumbling average and a mix of five rule kinds over 10,000 devices; the same threshold rule in
// json-rules-engine on the same readings, as the baseline of the ratio; and the bytes of rule
// state per device per rule, from the heap difference over 100,000 devices.
// Run: npm run bench:rules -w @fieldlink/bench (needs node --expose-gc, which the script passes).
import { readFileSync } from 'node:fs';
import { Engine } from 'json-rules-engine';
import {
  compileCfsDeviceRules,
  emptyRulesEngineState,
  loadRuleSet,
  RulesEngine,
  type CompiledRuleSet,
  type RuleDefinition,
  type TelemetryEvent,
} from '@fieldlink/domain';

const DEVICES = 10_000;
const READINGS = 2_000_000;
const BASELINE_READINGS = 20_000;
const STATE_DEVICES = 100_000;
const START = Date.parse('2026-11-28T09:00:00Z');

const deviceRules = JSON.parse(readFileSync(new URL('../../../fixtures/cfs/devicerules.json', import.meta.url), 'utf8')) as unknown;

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

/**
 * Every device reads once a second, round robin. `overShare` of the readings cross 70 (70.1–80):
 * a healthy fleet has few (2 %); an alert storm many (40 %), where building alerts dominates.
 */
function readings(devices: number, count: number, ids: string[], overShare: number): TelemetryEvent[] {
  const events: TelemetryEvent[] = new Array(count);
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const device = i % devices;
    const round = Math.floor(i / devices);
    const over = seed % 1000 < overShare * 1000;
    events[i] = {
      deviceId: ids[device]!,
      eventToken: `t${i}`,
      enqueuedTime: START + round * 1000 + (device % 1000),
      readings: { Temperature: over ? 70.1 + (seed % 100) / 10 : 60 + (seed % 100) / 10, Humidity: 40 + (seed % 31) },
    };
  }
  return events;
}

function throughput(ruleSet: CompiledRuleSet, events: TelemetryEvent[]): { perSecond: number; alerts: number } {
  // A short warm-up on its own state, so the optimiser has seen the code before the measured run.
  const warm = new RulesEngine(ruleSet);
  const warmState = emptyRulesEngineState(ruleSet);
  for (let i = 0; i < Math.min(200_000, events.length); i++) warm.evaluate(warmState, events[i]!, 'Thermostat');
  const engine = new RulesEngine(ruleSet);
  const state = emptyRulesEngineState(ruleSet);
  let alerts = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < events.length; i++) alerts += engine.evaluate(state, events[i]!, 'Thermostat').length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: events.length / seconds, alerts };
}

async function jsonRulesEngineThroughput(events: TelemetryEvent[]): Promise<number> {
  const engine = new Engine([{ conditions: { all: [{ fact: 'Temperature', operator: 'greaterThan', value: 70 }] }, event: { type: 'AlarmTemp' } }]);
  for (let i = 0; i < 2_000; i++) await engine.run({ Temperature: events[i]!.readings['Temperature'] });
  let alerts = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < BASELINE_READINGS; i++) alerts += (await engine.run({ Temperature: events[i]!.readings['Temperature'] })).events.length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (alerts === 0) throw new Error('json-rules-engine raised nothing: the baseline is not comparable');
  return BASELINE_READINGS / seconds;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Heap held by the rule state of `STATE_DEVICES` devices (each with state in every rule), per
 * device per rule: the heap with the state, minus the heap once the state is released. Measuring
 * the release, not the growth, keeps unrelated garbage (the TypeScript loader's, say) out of it.
 */
function stateBytes(ruleSet: CompiledRuleSet, ids: string[]): number {
  if (gc === undefined) throw new Error('run node with --expose-gc');
  const engine = new RulesEngine(ruleSet);
  const events = ids.map((id, i): TelemetryEvent => ({
    deviceId: id,
    eventToken: `s${i}`,
    enqueuedTime: START + i,
    readings: { Temperature: 75 + (i % 10) / 10, Humidity: 20 },
  }));
  let state: ReturnType<typeof emptyRulesEngineState> | undefined = emptyRulesEngineState(ruleSet);
  for (const event of events) engine.evaluate(state, event, 'Thermostat');
  if (state.slotOf.size !== ids.length) throw new Error('not every device has state');
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const withState = heap();
  state = undefined;
  const without = heap();
  return (withState - without) / ids.length / ruleSet.rules.length;
}

const scope = { deviceType: 'Thermostat' };
const tumblingAvg: RuleDefinition = {
  id: 'avg-minute',
  kind: 'window',
  scope,
  reading: 'Temperature',
  aggregate: 'avg',
  window: { type: 'tumbling', sizeMs: 60_000 },
  condition: { operator: '>', value: 75 },
  severity: 'warning',
};
const fiveKinds: RuleDefinition[] = [
  {
    id: 'hot',
    kind: 'threshold',
    scope,
    reading: 'Temperature',
    condition: { operator: '>', value: 70 },
    severity: 'major',
    suppression: { identicalReadingWithinMs: 60_000 },
    clear: { when: 'never' },
  },
  {
    id: 'hot-30s',
    kind: 'duration',
    scope,
    reading: 'Temperature',
    condition: { operator: '>', value: 72 },
    forMs: 30_000,
    severity: 'critical',
    suppression: { singleOpenAlert: true },
  },
  {
    id: 'dry-3',
    kind: 'repeating',
    scope,
    reading: 'Humidity',
    condition: { operator: '<', value: 45 },
    count: 3,
    severity: 'minor',
    suppression: { singleOpenAlert: true },
  },
  tumblingAvg,
  { id: 'jump', kind: 'rateOfChange', scope, reading: 'Temperature', change: 15, withinMs: 5_000, direction: 'rise', severity: 'major' },
];

async function main(): Promise<void> {
  const ids = Array.from({ length: STATE_DEVICES }, (_, i) => `thermostat-${i}`);
  const events = readings(DEVICES, READINGS, ids, 0.02);
  const storm = readings(DEVICES, READINGS / 4, ids, 0.4);
  const cfs = must(compileCfsDeviceRules(deviceRules));
  const tumbling = must(loadRuleSet({ version: 1, rules: [tumblingAvg] }));
  const mix = must(loadRuleSet({ version: 1, rules: fiveKinds }));

  // State first, on a quiet heap.
  const cfsBytes = stateBytes(cfs, ids);
  const tumblingBytes = stateBytes(tumbling, ids);
  const mixBytes = stateBytes(mix, ids);
  const threshold = throughput(cfs, events);
  const thresholdStorm = throughput(cfs, storm);
  const baseline = await jsonRulesEngineThroughput(events);
  const avg = throughput(tumbling, events);
  const mixed = throughput(mix, events);

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows: Array<[string, string, string]> = [
    [
      `CFS threshold rule (devicerules.json), ${fmt(DEVICES)} devices, 2 % over 70`,
      `${fmt(threshold.perSecond)} readings/s (${fmt(threshold.alerts)} alerts)`,
      '≥ 2,000,000 readings/s',
    ],
    ['same, alert storm: 40 % over 70', `${fmt(thresholdStorm.perSecond)} readings/s (${fmt(thresholdStorm.alerts)} alerts)`, ''],
    ['same threshold rule, json-rules-engine 7.3.1 (no LAG suppression)', `${fmt(baseline)} readings/s`, ''],
    ['ratio engine / json-rules-engine', `${(threshold.perSecond / baseline).toFixed(0)}×`, '≥ 50×'],
    ['one-minute tumbling average', `${fmt(avg.perSecond)} readings/s (${fmt(avg.alerts)} alerts)`, '≥ 500,000 readings/s'],
    [
      'mix of five kinds (threshold, duration, repeating, tumbling avg, rate of change)',
      `${fmt(mixed.perSecond)} readings/s (${fmt(mixed.alerts)} outcomes)`,
      '',
    ],
    [`state per device per rule, CFS threshold (${fmt(STATE_DEVICES)} devices)`, `${cfsBytes.toFixed(0)} bytes`, '≤ 200 bytes'],
    ['state per device per rule, tumbling average', `${tumblingBytes.toFixed(0)} bytes`, '≤ 200 bytes'],
    ['state per device per rule, mix of five', `${mixBytes.toFixed(0)} bytes`, ''],
  ];
  console.log(`node ${process.version}, ${fmt(READINGS)} readings per run (storm: ${fmt(READINGS / 4)})\n`);
  console.log('| measure | result | target |\n|---|---|---|');
  for (const [measure, result, target] of rows) console.log(`| ${measure} | ${result} | ${target} |`);
}

await main();
