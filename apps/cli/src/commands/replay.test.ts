import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySink } from '../rules/streamed-output.js';
import { runReplay, type ReplayedAlert } from './replay.js';
import { runRulesTest } from './rules-test.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const examples = join(root, 'apps/cli/examples');
const devicerules = join(examples, 'devicerules.json');
const dir = mkdtempSync(join(tmpdir(), 'fieldlink-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = { deviceType: 'Thermostat', json: true, maxBadLines: 20, maxLineBytes: 1024 * 1024 } as const;

async function run(command: 'replay' | 'rules test', telemetry: string): Promise<{ code: number; result: Record<string, unknown>; stderr: string }> {
  const stdout = memorySink();
  const stderr = memorySink();
  const streams = { stdout: stdout.sink, stderr: stderr.sink, stderrIsTTY: false };
  const code =
    command === 'replay'
      ? await runReplay({ ...options, rules: devicerules, telemetry }, streams)
      : await runRulesTest({ ...options, rules: devicerules, telemetry }, streams);
  return { code, result: stdout.text() === '' ? {} : (JSON.parse(stdout.text()) as Record<string, unknown>), stderr: stderr.text() };
}

/** What both commands say of an alert: its token, device, reading type, reading and time. */
const key = (a: { eventToken?: string; token?: string; deviceId: string; readingType: string; reading: number | null; time: string }): string =>
  `${a.eventToken ?? a.token} ${a.deviceId} ${a.readingType} ${a.reading} ${a.time}`;

/**
 * A recording of `devices` thermostats, one reading each every `everyMs` from `start`, oscillating
 * over and under 70 and repeating values within the minute (which the CFS query suppresses).
 */
function recording(name: string, start: number, devices: number, readingsEach: number, everyMs: number): string {
  const lines: string[] = [];
  for (let i = 0; i < readingsEach; i++) {
    for (let d = 1; d <= devices; d++) {
      const temperature = [66, 71, 71, 72.5, 69, 71, 80, 80][(i + d) % 8]!;
      lines.push(
        JSON.stringify({
          DeviceID: `thermostat-${d}`,
          Temperature: temperature,
          Humidity: 40,
          EventToken: `${name}-${d}-${i}`,
          EventEnqueuedUtcTime: new Date(start + i * everyMs + d).toISOString(),
        }),
      );
    }
  }
  const file = join(dir, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('fieldlink replay', () => {
  it('creates in the CRM, through the whole in-memory pipeline, the alerts `rules test` finds in the sample recording, the child alerts parented to the first', async () => {
    const telemetry = join(examples, 'telemetry.sample.jsonl');
    const replay = await run('replay', telemetry);
    const offline = await run('rules test', telemetry);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toBe('');
    const alerts = replay.result['alerts'] as ReplayedAlert[];
    expect(alerts).toHaveLength(23);
    expect(alerts.map(key)).toEqual((offline.result['alerts'] as Parameters<typeof key>[0][]).map(key));
    // The first crossing is the root; every later one within the parenting window is its child.
    expect(alerts[0]!.parentToken).toBeNull();
    expect(alerts.slice(1).every((a) => a.parentToken === alerts[0]!.token)).toBe(true);
    expect(replay.result).toMatchObject({ lines: 121, readings: 121, alertCount: 23, badLineCount: 0, deadLettered: 0 });
  }, 60_000);

  // Both streams are in the past of the wall clock: these agree once the ingest's time follows the
  // events (issue 13, point 2); while it moves on with the wall clock, the suppression memory is
  // forgotten between two readings of the same value and the replay raises alerts CFS drops.
  it.each([
    ['recorded up to now', Date.now() - 400 * 9_000],
    ['recorded hours ago', Date.now() - 6 * 3_600_000],
  ])(
    'agrees with `rules test` on a stream %s (repeated readings within the minute suppressed alike)',
    async (name, start) => {
      const telemetry = recording(name.replace(/ /g, '-'), start, 5, 400, 9_000);
      const replay = await run('replay', telemetry);
      const offline = await run('rules test', telemetry);
      expect(replay.code).toBe(0);
      expect(offline.code).toBe(0);
      const offlineKeys = (offline.result['alerts'] as Parameters<typeof key>[0][]).map(key).sort();
      expect(offlineKeys.length).toBeGreaterThan(400);
      expect((replay.result['alerts'] as ReplayedAlert[]).map(key).sort()).toEqual(offlineKeys);
    },
    120_000,
  );

  it('reports bad lines as `rules test` does, and replays the good ones', async () => {
    const telemetry = join(dir, 'bad.jsonl');
    writeFileSync(
      telemetry,
      [
        '{"DeviceID":"t-1","Temperature":"hot","EventToken":"a","EventEnqueuedUtcTime":"2026-11-28T09:00:00Z"}',
        'not json \u001b[2J',
        '{"DeviceID":"t-1","Temperature":80,"EventToken":"b"}',
        '{"DeviceID":"t-1","Temperature":80,"EventToken":"c","EventEnqueuedUtcTime":"2026-11-28T09:00:01Z"}',
      ].join('\n'),
    );
    const replay = await run('replay', telemetry);
    const offline = await run('rules test', telemetry);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toBe(offline.stderr);
    expect(replay.stderr).toContain('bad.jsonl:2: (line): is not JSON');
    expect(replay.stderr).not.toContain('\u001b');
    expect(replay.result).toMatchObject({
      readings: 1,
      badLineCount: 3,
      badLines: offline.result['badLines'],
      alerts: [{ token: 'c', reading: 80, deviceId: 't-1', readingType: 'Temperature', time: '2026-11-28T09:00:01.000Z', parentToken: null }],
    });
  }, 60_000);

  it('refuses a native rule document, which the stream processor does not run, with one line and exit code 1', async () => {
    const stderr = memorySink();
    const code = await runReplay(
      { ...options, rules: join(examples, 'rules.native.json'), telemetry: join(examples, 'telemetry.sample.jsonl') },
      { stdout: memorySink().sink, stderr: stderr.sink, stderrIsTTY: false },
    );
    expect(code).toBe(1);
    expect(stderr.text()).toMatch(
      /^rules file .*rules\.native\.json: is a native rule document; the stream processor runs CFS devicerules\.json reference data .*\n$/,
    );
  });
});
