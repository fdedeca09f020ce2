import type { RulesFile } from '@fieldlink/composition';
import { CFS_SUPPRESSION_MS, CfsAlertQuery, emptyCfsAlertQueryState, emptyRulesEngineState, RulesEngine, type TelemetryEvent } from '@fieldlink/domain';
import { telemetryFromJson } from '@fieldlink/ports';
import type { RecordedLine } from './recorded-lines.js';

/** One alert the rules raised over the recording. */
export interface OfflineAlert {
  /** ISO 8601: the reading's enqueued time (or the window end). */
  readonly time: string;
  readonly deviceId: string;
  readonly readingType: string;
  readonly reading: number;
  readonly threshold: number | null;
  readonly ruleOutput: string;
  readonly eventToken: string;
  /** Native rule documents only. */
  readonly ruleId?: string;
  readonly severity?: string;
}

/** A line that could not be used, and why; the run goes on. */
export interface BadLine {
  /** 1-based line number in the telemetry file. */
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

/** What a run saw; the alerts and bad lines themselves went to the callbacks as they came. */
export interface OfflineRun {
  readonly format: RulesFile['kind'];
  readonly lines: number;
  readonly readings: number;
  readonly alerts: number;
  /** Lines that could not be used (one line may have several issues, each reported). */
  readonly badLines: number;
}

export interface OfflineRunOptions {
  /** The device type of every device in the recording (CFS joins device metadata; a recording has none). */
  readonly deviceType: string;
  /** Each alert as it is raised, in file order; awaited, so a slow writer slows the reading (memory stays flat). */
  readonly onAlert: (alert: OfflineAlert) => void | Promise<void>;
  /** Each bad line as it is met. */
  readonly onBadLine: (bad: BadLine) => void | Promise<void>;
  /** Called every `progressEvery` lines. */
  readonly onProgress?: (progress: { readonly lines: number; readonly alerts: number; readonly badLines: number }) => void;
  readonly progressEvery?: number;
}

/** The hub's enqueued time of a recorded line (Stream Analytics' `EventEnqueuedUtcTime`). */
function enqueuedTimeOf(value: Record<string, unknown>): number | string {
  const raw = value['EventEnqueuedUtcTime'];
  if (raw === undefined) return 'expected the hub\u2019s enqueued time as an ISO 8601 date-time';
  if (typeof raw !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(Date.parse(raw))) return `expected an ISO 8601 date-time, got ${JSON.stringify(raw).slice(0, 80)}`;
  return Date.parse(raw);
}

/**
 * One line of a recording (JSON Lines as Stream Analytics sees it,
 * `{"DeviceID","Temperature","Humidity","EventToken","EventEnqueuedUtcTime"}`) as the event the
 * rules evaluate, or why it cannot be used (`undefined` for a blank line). `fieldlink rules test`
 * and `fieldlink replay` read lines alike through this.
 */
export function parseRecordedLine(line: RecordedLine): { ok: true; value: TelemetryEvent } | { ok: false; error: BadLine[] } | undefined {
  if ('tooLong' in line) return { ok: false, error: [{ line: line.line, path: '(line)', message: `is ${line.tooLong.bytes} bytes long, over the cap of ${line.tooLong.max} (--max-line-bytes); skipped` }] };
  const text = line.text;
  if (text.trim() === '') return undefined;
  const bad = (path: string, message: string) => ({ ok: false as const, error: [{ line: line.line, path, message }] });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return bad('(line)', `is not JSON (${(e as Error).message.slice(0, 200)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('(line)', 'expected a JSON object');
  const time = enqueuedTimeOf(value as Record<string, unknown>);
  if (typeof time === 'string') return bad('EventEnqueuedUtcTime', time);
  const event = telemetryFromJson(value, time);
  if (!event.ok) return { ok: false, error: event.error.map((issue) => ({ line: line.line, path: issue.path, message: issue.message })) };
  return { ok: true, value: event.value };
}

/**
 * Runs rules over recorded telemetry, in file order. A CFS `devicerules.json` behaves exactly as
 * the CFS alert query; a native rule document runs on the rules engine. Bad lines are reported
 * with their number and field, never fatal. Nothing is kept per line: the alerts and bad lines go
 * to the callbacks, so memory does not grow with the recording.
 */
export async function runRulesOffline(rules: RulesFile, lines: AsyncIterable<RecordedLine> | Iterable<RecordedLine>, options: OfflineRunOptions): Promise<OfflineRun> {
  const evaluate = evaluatorOf(rules, options.deviceType);
  let lineCount = 0;
  let readings = 0;
  let alerts = 0;
  let badLines = 0;
  const every = options.progressEvery ?? 10_000;
  for await (const line of lines) {
    lineCount = line.line;
    if (lineCount % every === 0) options.onProgress?.({ lines: lineCount, alerts, badLines });
    const event = parseRecordedLine(line);
    if (event === undefined) continue;
    if (!event.ok) {
      badLines++;
      for (const bad of event.error) await options.onBadLine(bad);
      continue;
    }
    readings++;
    for (const alert of evaluate(event.value)) {
      alerts++;
      await options.onAlert(alert);
    }
  }
  return { format: rules.kind, lines: lineCount, readings, alerts, badLines };
}

/** The evaluation itself: one event in, the alerts it raises out (state kept inside). */
export function evaluatorOf(rules: RulesFile, deviceType: string): (event: TelemetryEvent) => OfflineAlert[] {
  if (rules.kind === 'cfs') {
    const query = new CfsAlertQuery(rules.rules);
    const state = emptyCfsAlertQueryState();
    let sincePrune = 0;
    return (event) => {
      // Keep the suppression memory small on long recordings: older entries can no longer suppress.
      if (++sincePrune >= 10_000) {
        query.prune(state, event.enqueuedTime - CFS_SUPPRESSION_MS);
        sincePrune = 0;
      }
      return query.evaluate(state, event, deviceType).map((a) => ({
        time: new Date(a.time).toISOString(),
        deviceId: a.deviceId,
        readingType: a.readingType,
        reading: a.reading,
        threshold: a.threshold,
        ruleOutput: a.ruleOutput,
        eventToken: a.eventToken,
      }));
    };
  }
  const engine = new RulesEngine(rules.ruleSet);
  const state = emptyRulesEngineState(rules.ruleSet);
  return (event) =>
    engine.evaluate(state, event, deviceType).flatMap((o) =>
      o.type === 'alert'
        ? [{ time: new Date(o.time).toISOString(), deviceId: o.deviceId, readingType: o.readingType, reading: o.reading, threshold: o.threshold, ruleOutput: o.ruleOutput, eventToken: o.eventToken, ruleId: o.ruleId, severity: o.severity }]
        : [],
    );
}
