import { readRulesFile, type RulesFile } from '@fieldlink/composition';
import { describeIssues } from '@fieldlink/domain';
import { runRulesOffline, type OfflineAlert, type OfflineRun } from '../rules/offline-rules.js';
import { readRecordedLines, unreadableFile } from '../rules/recorded-lines.js';
import { BadLineReport, sinkOf, StreamingJsonArray, StreamingTable, type TextSink } from '../rules/streamed-output.js';
import { terminalSafe } from '../text/terminal-text.js';

export interface RulesTestOptions {
  readonly rules: string;
  readonly telemetry: string;
  readonly deviceType: string;
  readonly json: boolean;
  /** Print on stderr, and keep in the JSON result, at most this many bad line issues (all bad lines are counted). */
  readonly maxBadLines: number;
  /** A longer line is reported as bad and skipped, never held whole. */
  readonly maxLineBytes: number;
}

export interface OutputStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Progress in place (`\r`) when stderr is a terminal. */
  readonly stderrIsTTY: boolean;
}

const processStreams = (): OutputStreams => ({ stdout: sinkOf(process.stdout), stderr: sinkOf(process.stderr), stderrIsTTY: process.stderr.isTTY === true });

/** The rules file, or one line on stderr saying why it cannot be used. */
export async function loadRulesOrSay(file: string, stderr: TextSink): Promise<RulesFile | undefined> {
  const unreadable = await unreadableFile(file);
  if (unreadable !== undefined) {
    await stderr(`rules file ${terminalSafe(file)}: ${unreadable}\n`);
    return undefined;
  }
  const rules = readRulesFile(file);
  if (!rules.ok) {
    await stderr(`rules file ${terminalSafe(file)}: ${terminalSafe(describeIssues(rules.error))}\n`);
    return undefined;
  }
  return rules.value;
}

/** Progress on stderr for long runs only, at most twice a second. */
export function progressPrinter(streams: OutputStreams): {
  onProgress: (p: { lines: number; alerts: number; badLines: number }) => void;
  done: () => Promise<void>;
} {
  const started = Date.now();
  let last = started;
  let shown = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (now - started < 1_000 || now - last < 500) return;
      last = now;
      shown = true;
      const line = `${p.lines.toLocaleString('en')} lines, ${p.alerts.toLocaleString('en')} alerts, ${p.badLines.toLocaleString('en')} bad lines`;
      void streams.stderr(streams.stderrIsTTY ? `\r${line}` : `${line}\n`);
    },
    done: async () => {
      if (shown && streams.stderrIsTTY) await streams.stderr('\n');
    },
  };
}

/**
 * `fieldlink rules test`: rules over recorded telemetry, offline; exit 0 when it ran (bad lines
 * are reported, not fatal), 1 when it could not. Input and output are streamed: memory stays flat
 * however long the recording and however many alerts or bad lines it gives.
 */
export async function runRulesTest(options: RulesTestOptions, streams: OutputStreams = processStreams()): Promise<number> {
  const rules = await loadRulesOrSay(options.rules, streams.stderr);
  if (rules === undefined) return 1;
  const unreadable = await unreadableFile(options.telemetry);
  if (unreadable !== undefined) {
    await streams.stderr(`telemetry file ${terminalSafe(options.telemetry)}: ${unreadable}\n`);
    return 1;
  }
  const format = rules.kind;
  const bad = new BadLineReport(options.telemetry, options.maxBadLines, streams.stderr);
  const output = options.json ? new StreamingJsonArray(streams.stdout, 'alerts', { rulesFormat: format }) : alertsTable(format, streams.stdout);
  const progress = progressPrinter(streams);
  let run: OfflineRun;
  try {
    run = await runRulesOffline(rules, readRecordedLines(options.telemetry, { maxLineBytes: options.maxLineBytes }), {
      deviceType: options.deviceType,
      progressEvery: 5_000,
      onProgress: progress.onProgress,
      onBadLine: (b) => bad.add(b),
      onAlert: (a) => (output instanceof StreamingJsonArray ? output.item(a) : output.row(alertCells(format, a))),
    });
  } catch (e) {
    // A read error mid-file (the disk, a file removed under us): one line, not a trace.
    await progress.done();
    await streams.stderr(
      `telemetry file ${terminalSafe(options.telemetry)}: stopped reading: ${terminalSafe((e as NodeJS.ErrnoException).code ?? (e as Error).message)}\n`,
    );
    return 1;
  }
  await progress.done();
  await bad.end();
  if (output instanceof StreamingJsonArray)
    await output.end({
      lines: run.lines,
      readings: run.readings,
      alertCount: run.alerts,
      badLineCount: run.badLines,
      badLines: bad.kept,
      badLinesOmitted: bad.omittedCount,
    });
  else await output.end(summaryLine(run));
  return 0;
}

/** Window averages carry float noise (74.69999999999999); two decimals are what a person reads. */
const round = (n: number): string => String(Math.round(n * 100) / 100);

/** The table of alerts, written as they come. */
export function alertsTable(format: OfflineRun['format'], sink: TextSink): StreamingTable {
  const native = format === 'native';
  const header = ['time', 'device', ...(native ? ['rule', 'severity'] : []), 'reading', 'value', 'threshold', 'rule output', 'event token'];
  return new StreamingTable(header, sink, new Set(['value', 'threshold']));
}

export const alertCells = (format: OfflineRun['format'], a: OfflineAlert): string[] => [
  a.time,
  a.deviceId,
  ...(format === 'native' ? [a.ruleId ?? '', a.severity ?? ''] : []),
  a.readingType,
  round(a.reading),
  a.threshold === null ? '' : round(a.threshold),
  a.ruleOutput,
  a.eventToken,
];

const plural = (n: number, word: string): string => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

export const summaryLine = (run: OfflineRun): string =>
  `${plural(run.alerts, 'alert')} from ${plural(run.readings, 'reading')} (${run.format === 'cfs' ? 'CFS devicerules.json' : 'native rule document'})${run.badLines > 0 ? `; ${plural(run.badLines, 'bad line')} skipped` : ''}`;
