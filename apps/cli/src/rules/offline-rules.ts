import type { RulesFile } from '@fieldlink/composition';
import { enqueuedTimeOf, evaluatorOf, type BadLine, type OfflineAlert } from '@fieldlink/flows';
import type { TelemetryEvent } from '@fieldlink/domain';
import { telemetryFromJson } from '@fieldlink/ports';
import type { RecordedLine } from './recorded-lines.js';

// The evaluation is the stream processor's offline reference (`@fieldlink/flows`, which the ingest
// is tested against); this module streams a recording through it for `rules test` and `replay`.
export type { BadLine, OfflineAlert } from '@fieldlink/flows';

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
  /**
   * Event time at the end of the recording (epoch ms): what time alone raises up to it (a silence,
   * a window's end) is raised after the last line. The last reading's enqueued time by default.
   */
  readonly until?: number;
}

/**
 * One line of a recording (JSON Lines as Stream Analytics sees it,
 * `{"DeviceID","Temperature","Humidity","EventToken","EventEnqueuedUtcTime"}`, names in any case)
 * as the event the rules evaluate, or why it cannot be used (`undefined` for a blank line).
 * `fieldlink rules test` and `fieldlink replay` read lines alike through this.
 */
export function parseRecordedLine(line: RecordedLine): { ok: true; value: TelemetryEvent } | { ok: false; error: BadLine[] } | undefined {
  if ('tooLong' in line)
    return {
      ok: false,
      error: [
        { line: line.line, path: '(line)', message: `is ${line.tooLong.bytes} bytes long, over the cap of ${line.tooLong.max} (--max-line-bytes); skipped` },
      ],
    };
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
 * Runs rules over recorded telemetry, in file order, on event time alone. A CFS
 * `devicerules.json` behaves exactly as the CFS alert query; a native rule document runs on the
 * rules engine, and after the last line event time moves to `until`. Bad lines are reported with
 * their number and field, never fatal. Nothing is kept per line: the alerts and bad lines go to
 * the callbacks, so memory does not grow with the recording.
 */
export async function runRulesOffline(
  rules: RulesFile,
  lines: AsyncIterable<RecordedLine> | Iterable<RecordedLine>,
  options: OfflineRunOptions,
): Promise<OfflineRun> {
  const { evaluate, end } = evaluatorOf(rules, options.deviceType);
  let lineCount = 0;
  let readings = 0;
  let alerts = 0;
  let badLines = 0;
  let lastTime: number | undefined;
  const every = options.progressEvery ?? 10_000;
  const raise = async (raised: readonly OfflineAlert[]): Promise<void> => {
    for (const alert of raised) {
      alerts++;
      await options.onAlert(alert);
    }
  };
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
    lastTime = event.value.enqueuedTime;
    await raise(evaluate(event.value));
  }
  const until = options.until ?? lastTime;
  if (until !== undefined) await raise(end(until));
  return { format: rules.kind, lines: lineCount, readings, alerts, badLines };
}
