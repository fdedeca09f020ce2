import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { readRulesFile } from '@fieldlink/composition';
import { describeIssues } from '@fieldlink/domain';
import { runRulesOffline, type OfflineAlert, type OfflineRun } from '../rules/offline-rules.js';

export interface RulesTestOptions {
  readonly rules: string;
  readonly telemetry: string;
  readonly deviceType: string;
  readonly json: boolean;
  /** Print at most this many bad lines on stderr (all are counted). */
  readonly maxBadLines: number;
}

/** `fieldlink rules test`: rules over recorded telemetry, offline; exit 0 when it ran (bad lines are reported, not fatal), 1 when it could not. */
export async function runRulesTest(options: RulesTestOptions): Promise<number> {
  const rules = readRulesFile(options.rules);
  if (!rules.ok) {
    process.stderr.write(`rules file ${options.rules}: ${describeIssues(rules.error)}\n`);
    return 1;
  }
  try {
    await access(options.telemetry);
  } catch (e) {
    process.stderr.write(`telemetry file ${options.telemetry}: cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  const input = createInterface({ input: createReadStream(options.telemetry, 'utf8'), crlfDelay: Infinity });
  const started = Date.now();
  let lastProgress = started;
  let shownProgress = false;
  const run = await runRulesOffline(rules.value, input, {
    deviceType: options.deviceType,
    progressEvery: 5_000,
    onProgress: (p) => {
      // Only long runs say how far they are, at most twice a second.
      const now = Date.now();
      if (now - started < 1_000 || now - lastProgress < 500) return;
      lastProgress = now;
      shownProgress = true;
      const line = `${p.lines.toLocaleString('en')} lines, ${p.alerts.toLocaleString('en')} alerts, ${p.badLines.toLocaleString('en')} bad lines`;
      process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
    },
  });
  if (shownProgress && process.stderr.isTTY) process.stderr.write('\n');
  for (const bad of run.badLines.slice(0, options.maxBadLines)) process.stderr.write(`${options.telemetry}:${bad.line}: ${bad.path}: ${bad.message}\n`);
  if (run.badLines.length > options.maxBadLines) process.stderr.write(`… and ${run.badLines.length - options.maxBadLines} more bad lines\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(toJson(run), null, 2)}\n`);
  else process.stdout.write(`${alertsTable(run)}\n`);
  return 0;
}

function toJson(run: OfflineRun): Record<string, unknown> {
  return { rulesFormat: run.format, lines: run.lines, readings: run.readings, badLines: run.badLines, alerts: run.alerts };
}

/** Window averages carry float noise (74.69999999999999); two decimals are what a person reads. */
const round = (n: number): string => String(Math.round(n * 100) / 100);

/** The alerts as a plain text table, then one summary line. */
export function alertsTable(run: OfflineRun): string {
  const native = run.format === 'native';
  const header = ['time', 'device', ...(native ? ['rule', 'severity'] : []), 'reading', 'value', 'threshold', 'rule output', 'event token'];
  const rows = run.alerts.map((a: OfflineAlert) => [
    a.time,
    a.deviceId,
    ...(native ? [a.ruleId ?? '', a.severity ?? ''] : []),
    a.readingType,
    round(a.reading),
    a.threshold === null ? '' : round(a.threshold),
    a.ruleOutput,
    a.eventToken,
  ]);
  const summary = `${run.alerts.length} alert${run.alerts.length === 1 ? '' : 's'} from ${run.readings} reading${run.readings === 1 ? '' : 's'} (${run.format === 'cfs' ? 'CFS devicerules.json' : 'native rule document'})${run.badLines.length > 0 ? `; ${run.badLines.length} bad line${run.badLines.length === 1 ? '' : 's'} skipped` : ''}`;
  if (rows.length === 0) return summary;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set(['value', 'threshold']);
  const format = (cells: string[]): string => cells.map((c, i) => (numeric.has(header[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format), '', summary].join('\n');
}
