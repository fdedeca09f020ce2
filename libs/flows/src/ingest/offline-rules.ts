// Flows 3–6 (ingest), offline: the rules run over a recorded stream, the reference the live ingest is held to.
import {
  CFS_SUPPRESSION_MS,
  CfsAlertQuery,
  emptyCfsAlertQueryState,
  emptyRulesEngineState,
  RulesEngine,
  type CfsThresholdRule,
  type CompiledRuleSet,
  type RuleOutcome,
  type TelemetryEvent,
} from '@fieldlink/domain';
import { telemetryFromJson } from '@fieldlink/ports';

/** The rules to run: the CFS reference data (`devicerules.json`) or a native rule document, as `readRulesFile` gives them. */
export type RulesFile = { readonly kind: 'cfs'; readonly rules: readonly CfsThresholdRule[] } | { readonly kind: 'native'; readonly ruleSet: CompiledRuleSet };

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

export interface OfflineRun {
  readonly format: RulesFile['kind'];
  readonly lines: number;
  readonly readings: number;
  readonly alerts: OfflineAlert[];
  readonly badLines: BadLine[];
}

export interface OfflineRunOptions {
  /** The device type of every device in the recording (CFS joins device metadata; a recording has none). */
  readonly deviceType: string;
  /** Called every `progressEvery` lines. */
  readonly onProgress?: (progress: { readonly lines: number; readonly alerts: number; readonly badLines: number }) => void;
  readonly progressEvery?: number;
  /**
   * Event time at the end of the recording (epoch ms): what time alone raises up to it (a silence,
   * a window's end) is raised after the last line. The last reading's enqueued time by default,
   * as the stream processor's watermark stands once it has read the recording.
   */
  readonly until?: number;
}

/**
 * The hub's enqueued time of a recorded line (Stream Analytics' `EventEnqueuedUtcTime`, in any
 * case), or why it cannot be read.
 */
export function enqueuedTimeOf(value: Record<string, unknown>): number | string {
  const key = Object.keys(value).find((k) => k.toLowerCase() === 'eventenqueuedutctime');
  const raw = key === undefined ? undefined : value[key];
  if (raw === undefined) return 'expected the hub\u2019s enqueued time as an ISO 8601 date-time';
  if (typeof raw !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(Date.parse(raw)))
    return `expected an ISO 8601 date-time, got ${JSON.stringify(raw).slice(0, 80)}`;
  return Date.parse(raw);
}

/**
 * Runs rules over recorded telemetry, JSON Lines as Stream Analytics sees it
 * (`{"DeviceID","Temperature","Humidity","EventToken","EventEnqueuedUtcTime"}` per line, names in
 * any case), in file order, on event time alone. A CFS `devicerules.json` behaves exactly as the
 * CFS alert query; a native rule document runs on the rules engine, and after the last line event
 * time moves to `until` (what a silence or a window's end raises by then). Bad lines are reported
 * with their number and field, never fatal. This is the reference the stream processor's ingest
 * agrees with, however its input is batched, committed, restarted or delayed.
 */
export async function runRulesOffline(rules: RulesFile, lines: AsyncIterable<string> | Iterable<string>, options: OfflineRunOptions): Promise<OfflineRun> {
  const { evaluate, end } = evaluatorOf(rules, options.deviceType);
  const alerts: OfflineAlert[] = [];
  const badLines: BadLine[] = [];
  let lineNumber = 0;
  let readings = 0;
  let lastTime: number | undefined;
  const every = options.progressEvery ?? 10_000;
  for await (const text of lines) {
    lineNumber++;
    if (lineNumber % every === 0) options.onProgress?.({ lines: lineNumber, alerts: alerts.length, badLines: badLines.length });
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      badLines.push({ line: lineNumber, path: '(line)', message: `is not JSON (${(e as Error).message})` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      badLines.push({ line: lineNumber, path: '(line)', message: 'expected a JSON object' });
      continue;
    }
    const time = enqueuedTimeOf(value as Record<string, unknown>);
    if (typeof time === 'string') {
      badLines.push({ line: lineNumber, path: 'EventEnqueuedUtcTime', message: time });
      continue;
    }
    const event = telemetryFromJson(value, time);
    if (!event.ok) {
      for (const issue of event.error) badLines.push({ line: lineNumber, path: issue.path, message: issue.message });
      continue;
    }
    readings++;
    lastTime = time;
    alerts.push(...evaluate(event.value));
  }
  const until = options.until ?? lastTime;
  if (until !== undefined) alerts.push(...end(until));
  return { format: rules.kind, lines: lineNumber, readings, alerts, badLines };
}

/** The evaluation itself, one event at a time (its state kept inside), shared by every offline reader. */
export interface OfflineEvaluator {
  evaluate(event: TelemetryEvent): OfflineAlert[];
  /** Event time moved to `time` at the end of the recording. */
  end(time: number): OfflineAlert[];
}

export function evaluatorOf(rules: RulesFile, deviceType: string): OfflineEvaluator {
  if (rules.kind === 'cfs') {
    const query = new CfsAlertQuery(rules.rules);
    const state = emptyCfsAlertQueryState();
    let sincePrune = 0;
    return {
      evaluate: (event) => {
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
      },
      // The CFS query raises nothing on time alone.
      end: () => [],
    };
  }
  const engine = new RulesEngine(rules.ruleSet);
  const state = emptyRulesEngineState(rules.ruleSet);
  const alertsOf = (outcomes: readonly RuleOutcome[]): OfflineAlert[] =>
    outcomes.flatMap((o) =>
      o.type === 'alert'
        ? [
            {
              time: new Date(o.time).toISOString(),
              deviceId: o.deviceId,
              readingType: o.readingType,
              reading: o.reading,
              threshold: o.threshold,
              ruleOutput: o.ruleOutput,
              eventToken: o.eventToken,
              ruleId: o.ruleId,
              severity: o.severity,
            },
          ]
        : [],
    );
  return {
    evaluate: (event) => alertsOf(engine.evaluate(state, event, deviceType)),
    end: (time) => alertsOf(engine.advanceTo(state, time)),
  };
}
