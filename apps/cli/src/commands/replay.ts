import { InMemoryIotHub, InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { consumerGroupOf, createCombinedRuntime, formatConfigIssues, parseConfig, type FieldlinkRuntime } from '@fieldlink/composition';
import { TOKENS, type ClockPort, type StoredIoTAlert } from '@fieldlink/ports';
import { parseRecordedLine } from '../rules/offline-rules.js';
import { readRecordedLines, unreadableFile } from '../rules/recorded-lines.js';
import { BadLineReport, sinkOf, StreamingJsonArray, StreamingTable } from '../rules/streamed-output.js';
import { terminalSafe } from '../text/terminal-text.js';
import { loadRulesOrSay, progressPrinter, type OutputStreams } from './rules-test.js';

export interface ReplayOptions {
  readonly rules: string;
  readonly telemetry: string;
  readonly deviceType: string;
  readonly json: boolean;
  readonly maxBadLines: number;
  readonly maxLineBytes: number;
  /** Give up when nothing moves through the pipeline for this long (ms). */
  readonly stallMs?: number;
}

/** One IoT alert record the replay created in the CRM. */
export interface ReplayedAlert {
  readonly token: string;
  readonly readingType: string;
  readonly reading: number | null;
  readonly deviceId: string;
  /** ISO 8601: the alert's time (the reading's event time). */
  readonly time: string;
  /** The event token of the parent alert, when the orchestrator made this one a child. */
  readonly parentToken: string | null;
}

/** Fields Stream Analytics adds to a recorded line that the device never sent. */
const ADDED_BY_STREAM_ANALYTICS = new Set(['EventEnqueuedUtcTime', 'EventProcessedUtcTime', 'PartitionId', 'IoTHub']);
/** Events handed to the hub ahead of what the ingest has checkpointed: the replay waits above this, so the hub's retention never drops any. */
const MAX_AHEAD = 10_000;

const processStreams = (): OutputStreams => ({ stdout: sinkOf(process.stdout), stderr: sinkOf(process.stderr), stderrIsTTY: process.stderr.isTTY === true });

/**
 * `fieldlink replay`: a recorded stream through the whole pipeline of the embedded default (the
 * in-memory hub, the stream processor, the alerts queue, the orchestrator and the in-memory CRM),
 * each line entering the hub with its recorded `EventEnqueuedUtcTime`; once everything is
 * drained, prints the IoT alert records created. Exit 0 when it ran, 1 when it could not.
 */
export async function runReplay(options: ReplayOptions, streams: OutputStreams = processStreams()): Promise<number> {
  const rules = await loadRulesOrSay(options.rules, streams.stderr);
  if (rules === undefined) return 1;
  if (rules.kind !== 'cfs') {
    await streams.stderr(
      `rules file ${terminalSafe(options.rules)}: is a native rule document; the stream processor runs CFS devicerules.json reference data (use \`fieldlink rules test\` for native documents)\n`,
    );
    return 1;
  }
  const unreadable = await unreadableFile(options.telemetry);
  if (unreadable !== undefined) {
    await streams.stderr(`telemetry file ${terminalSafe(options.telemetry)}: ${unreadable}\n`);
    return 1;
  }
  // The embedded default, as `fieldlink up` runs it, without the simulated fleet and the pages.
  const config = parseConfig({
    profile: 'embedded',
    rules: { file: options.rules, defaultDeviceType: options.deviceType, commitIntervalMs: 100 },
    simulator: { devices: 0, drifting: 0, heartbeatIntervalMs: 0 },
  });
  if (!config.ok) {
    await streams.stderr(`${formatConfigIssues(config.error)}\n`);
    return 1;
  }
  // Replay time is the recording's time: the newest enqueued time sent so far. Idle time then moves
  // a partition's event time on only as far as the recording has reached, never past readings still
  // to be sent, as if the whole recording were a backlog in the hub.
  const clock = new RecordingClock();
  const created = await createCombinedRuntime(config.value, { clock });
  if (!created.ok) {
    await streams.stderr(`${formatConfigIssues(created.error)}\n`);
    return 1;
  }
  const runtime = created.value;
  const hub = runtime.get(TOKENS.TelemetryIntake);
  const alertsQueue = runtime.get(TOKENS.AlertsQueue);
  if (!(hub instanceof InMemoryIotHub) || !(alertsQueue instanceof InMemoryQueue))
    throw new Error('replay runs on the in-memory hub and alerts queue of the embedded default');
  const group = consumerGroupOf(config.value);
  const bad = new BadLineReport(options.telemetry, options.maxBadLines, streams.stderr);
  const progress = progressPrinter(streams);
  const stallMs = options.stallMs ?? 60_000;
  const position = (): string => `${hub.uncheckpointed(group)}:${alertsQueue.activeCount}`;
  let lines = 0;
  let readings = 0;
  let badLines = 0;
  let alerts: StoredIoTAlert[];
  let deadLettered: number;
  let started = false;
  const startAt = async (time: number): Promise<void> => {
    clock.time = time;
    started = true;
    await runtime.start();
  };
  try {
    for await (const line of readRecordedLines(options.telemetry, { maxLineBytes: options.maxLineBytes })) {
      lines = line.line;
      if (lines % 5_000 === 0) progress.onProgress({ lines, alerts: 0, badLines });
      const parsed = parseRecordedLine(line);
      if (parsed === undefined) continue;
      if (!parsed.ok) {
        badLines++;
        for (const issue of parsed.error) await bad.add(issue);
        continue;
      }
      readings++;
      if (!started) await startAt(parsed.value.enqueuedTime);
      else if (parsed.value.enqueuedTime > clock.now()) clock.time = parsed.value.enqueuedTime;
      await hub.sendRecorded(parsed.value.deviceId, deviceMessageOf('text' in line ? line.text : ''), parsed.value.enqueuedTime);
      if (hub.uncheckpointed(group) > MAX_AHEAD) await untilDrained(runtime, () => hub.uncheckpointed(group) <= MAX_AHEAD / 2, position, stallMs);
    }
    if (!started) await startAt(Date.now());
    await untilDrained(runtime, () => hub.uncheckpointed(group) === 0 && alertsQueue.activeCount === 0, position, stallMs);
    alerts = await runtime.get(TOKENS.CrmGateway).listIoTAlerts();
    deadLettered = (await alertsQueue.peekDeadLetters(1_000)).length;
  } catch (e) {
    await progress.done();
    await streams.stderr(`replay stopped: ${terminalSafe((e as NodeJS.ErrnoException).code ?? (e as Error).message)}\n`);
    return 1;
  } finally {
    if (started) await runtime.stop();
  }
  await progress.done();
  await bad.end();
  if (deadLettered > 0) await streams.stderr(`${deadLettered} alerts-queue message${deadLettered === 1 ? '' : 's'} dead-lettered (not in the CRM)\n`);
  const records = replayedAlerts(alerts);
  if (options.json) {
    const out = new StreamingJsonArray(streams.stdout, 'alerts', { rulesFormat: 'cfs' });
    for (const r of records) await out.item(r);
    await out.end({ lines, readings, alertCount: records.length, badLineCount: badLines, badLines: bad.kept, badLinesOmitted: bad.omittedCount, deadLettered });
  } else {
    const table = new StreamingTable(['time', 'device', 'reading', 'value', 'event token', 'parent'], streams.stdout, new Set(['value']));
    for (const r of records)
      await table.row([r.time, r.deviceId, r.readingType, r.reading === null ? '' : String(Math.round(r.reading * 100) / 100), r.token, r.parentToken ?? '']);
    const plural = (n: number, w: string) => `${n.toLocaleString('en')} ${w}${n === 1 ? '' : 's'}`;
    await table.end(
      `${plural(records.length, 'IoT alert')} in the CRM from ${plural(readings, 'reading')} (hub → stream processor → alerts queue → orchestrator → CRM)${badLines > 0 ? `; ${plural(badLines, 'bad line')} skipped` : ''}`,
    );
  }
  return 0;
}

/**
 * The replay's clock: the recording's time, set by each reading sent, and running on in real time
 * from there (so commits fall due, and once the recording is all sent, time passes after its end).
 */
class RecordingClock implements ClockPort {
  private recorded = 0;
  private setAt = Date.now();
  get time(): number {
    return this.recorded;
  }
  set time(value: number) {
    this.recorded = value;
    this.setAt = Date.now();
  }
  now(): number {
    return this.recorded + (Date.now() - this.setAt);
  }
}

/** The body the device sent: the recorded line without what Stream Analytics added to it. */
function deviceMessageOf(text: string): Uint8Array {
  const value = JSON.parse(text) as Record<string, unknown>;
  for (const key of ADDED_BY_STREAM_ANALYTICS) delete value[key];
  return new TextEncoder().encode(JSON.stringify(value));
}

/** Waits until `done()`, checking often; fails when the pipeline makes no progress (no event logged, `position()` unchanged) for `stallMs`. */
async function untilDrained(runtime: FieldlinkRuntime, done: () => boolean, position: () => string, stallMs: number): Promise<void> {
  let lastChange = Date.now();
  let last = '';
  let events = 0;
  const unsubscribe = runtime.feed.subscribe(() => events++);
  try {
    while (!done()) {
      const now = `${events}:${position()}`;
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stallMs) throw new Error(`the pipeline made no progress for ${stallMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    unsubscribe();
  }
}

/** The CRM's alert records, oldest first, with the fields a person compares with `rules test`. */
export function replayedAlerts(alerts: readonly StoredIoTAlert[]): ReplayedAlert[] {
  const tokenById = new Map(alerts.map((a) => [a.alertId, a.alertToken]));
  return [...alerts]
    .sort((a, b) => a.alertTime - b.alertTime || a.alertToken.localeCompare(b.alertToken))
    .map((a) => {
      const data = alertDataOf(a.alertData);
      return {
        token: a.alertToken,
        readingType: typeof data['readingtype'] === 'string' ? data['readingtype'] : '',
        reading: typeof data['reading'] === 'number' ? data['reading'] : null,
        deviceId: a.deviceId,
        time: new Date(a.alertTime).toISOString(),
        parentToken: a.parentAlertId === undefined ? null : (tokenById.get(a.parentAlertId) ?? a.parentAlertId),
      };
    });
}

function alertDataOf(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
