import { spawn, spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/cli/src/main.ts');
const examples = join(root, 'apps/cli/examples');
const tsx = join(root, 'node_modules/.bin/tsx');
const dir = mkdtempSync(join(tmpdir(), 'fieldlink-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real CLI, as a person runs it. */
const fieldlink = (...args: string[]) =>
  spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 60_000 });

describe('fieldlink rules test', () => {
  it('prints the alerts of the CFS rules over the sample recording as a table, the repeated reading suppressed', () => {
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'devicerules.json'), '--telemetry', join(examples, 'telemetry.sample.jsonl'));
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^time\s+device\s+reading\s+value\s+threshold\s+rule output\s+event token$/);
    expect(lines.filter((l) => /^2026-11-28T\S+\s+thermostat-2\s+Temperature\s+\d/.test(l))).toHaveLength(23);
    expect(lines.at(-1)).toBe('23 alerts from 121 readings (CFS devicerules.json)');
    expect(run.stderr).toBe('');
  });

  it('prints JSON with --json, and runs a native rule document too', () => {
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'rules.native.json'), '--telemetry', join(examples, 'telemetry.sample.jsonl'), '--json');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { rulesFormat: string; readings: number; alerts: Array<{ ruleId: string; deviceId: string }> };
    expect(result.rulesFormat).toBe('native');
    expect(result.readings).toBe(121);
    expect(new Set(result.alerts.map((a) => a.ruleId))).toEqual(new Set(['too-hot', 'hot-minute', 'rising-fast']));
    expect(result.alerts.filter((a) => a.ruleId === 'too-hot')).toHaveLength(1);
  });

  it('reports each bad line with its number and field on stderr, counts it, and goes on', () => {
    const telemetry = join(dir, 'bad.jsonl');
    writeFileSync(
      telemetry,
      [
        '{"DeviceID":"t-1","Temperature":"hot","EventToken":"a","EventEnqueuedUtcTime":"2026-11-28T09:00:00Z"}',
        'not json',
        '{"DeviceID":"t-1","Temperature":80,"EventToken":"b"}',
        '{"DeviceID":"t-1","Temperature":80,"EventToken":"c","EventEnqueuedUtcTime":"2026-11-28T09:00:01Z"}',
      ].join('\n'),
    );
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'devicerules.json'), '--telemetry', telemetry, '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('bad.jsonl:1: Temperature: Invalid input: expected number, received string');
    expect(run.stderr).toContain('bad.jsonl:2: (line): is not JSON');
    expect(run.stderr).toContain('bad.jsonl:3: EventEnqueuedUtcTime: expected the hub');
    expect(JSON.parse(run.stdout)).toMatchObject({
      readings: 1,
      badLines: [{ line: 1 }, { line: 2 }, { line: 3 }],
      alerts: [{ eventToken: 'c', reading: 80 }],
    });
  });

  it('refuses a rules file it cannot read, naming the field, with exit code 1', () => {
    const rules = join(dir, 'rules.json');
    writeFileSync(rules, JSON.stringify([{ DeviceType: 'Thermostat', Temperature: 'seventy', TemperatureRuleOutput: 'AlarmTemp' }]));
    const run = fieldlink('rules', 'test', '--rules', rules, '--telemetry', join(examples, 'telemetry.sample.jsonl'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('0.Temperature: expected a finite number or null');
  });
});

describe('fieldlink rules test on hostile and real-sized input', () => {
  const line = (token: string, temperature: number, second: number) =>
    JSON.stringify({
      DeviceID: 'thermostat-1',
      Temperature: temperature,
      EventToken: token,
      EventEnqueuedUtcTime: new Date(Date.UTC(2026, 10, 28, 9, 0, second)).toISOString(),
    });

  it('answers a directory or a missing file as --telemetry or --rules with one line and exit code 1, no trace', () => {
    const sub = join(dir, 'not-a-file');
    mkdirSync(sub, { recursive: true });
    const rulesFile = join(examples, 'devicerules.json');
    const telemetry = join(examples, 'telemetry.sample.jsonl');
    for (const [args, expected] of [
      [['--rules', rulesFile, '--telemetry', sub], `telemetry file ${sub}: is a directory, expected a file\n`],
      [['--rules', rulesFile, '--telemetry', join(dir, 'missing.jsonl')], `telemetry file ${join(dir, 'missing.jsonl')}: does not exist\n`],
      [['--rules', sub, '--telemetry', telemetry], `rules file ${sub}: is a directory, expected a file\n`],
    ] as const) {
      const run = fieldlink('rules', 'test', ...args);
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(expected);
      expect(run.stdout).toBe('');
    }
  });

  it('accepts a UTF-8 byte order mark at the start of the telemetry and of the rules file', () => {
    const telemetry = join(dir, 'bom.jsonl');
    writeFileSync(telemetry, `\uFEFF${line('a', 80, 0)}\n${line('b', 60, 1)}\n`);
    const rules = join(dir, 'bom-rules.json');
    writeFileSync(rules, `\uFEFF${readFileSync(join(examples, 'devicerules.json'), 'utf8')}`);
    const run = fieldlink('rules', 'test', '--rules', rules, '--telemetry', telemetry, '--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ readings: 2, badLineCount: 0, alerts: [{ eventToken: 'a' }] });
  });

  it('reports a line over --max-line-bytes by its number and size, skips it, and goes on', () => {
    const telemetry = join(dir, 'long-line.jsonl');
    writeFileSync(telemetry, `${line('a', 80, 0)}\n{"DeviceID":"${'x'.repeat(3 * 1024 * 1024)}"}\n${line('c', 81, 90)}\n`);
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'devicerules.json'), '--telemetry', telemetry, '--json');
    expect(run.status).toBe(0);
    expect(run.stderr).toBe(`${telemetry}:2: (line): is 3145743 bytes long, over the cap of 1048576 (--max-line-bytes); skipped\n`);
    expect(JSON.parse(run.stdout)).toMatchObject({ lines: 3, readings: 2, badLineCount: 1, alerts: [{ eventToken: 'a' }, { eventToken: 'c' }] });
  });

  it('keeps and prints only --max-bad-lines bad lines, counts them all and says how many were left out', () => {
    const telemetry = join(dir, 'many-bad.jsonl');
    writeFileSync(telemetry, `${'not json\n'.repeat(5_000)}${line('z', 90, 0)}\n`);
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'devicerules.json'), '--telemetry', telemetry, '--json', '--max-bad-lines', '3');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { badLines: unknown[]; badLineCount: number; badLinesOmitted: number; alerts: unknown[] };
    expect(result.badLines).toHaveLength(3);
    expect(result).toMatchObject({ badLineCount: 5_000, badLinesOmitted: 4_997, alerts: [{ eventToken: 'z' }] });
    // Progress lines may come too on a slow machine (runs over a second report how far they are).
    expect(run.stderr.split('\n').filter((l) => l.includes('many-bad.jsonl:'))).toHaveLength(3);
    expect(run.stderr).toContain('… and 4,997 more bad line issues not shown (--max-bad-lines 3)');
  });

  it('escapes control bytes of a bad line and of a recorded token instead of writing them to the terminal', () => {
    const telemetry = join(dir, 'escape.jsonl');
    writeFileSync(
      telemetry,
      `\u001b]0;owned\u0007\u001b[2J\n${JSON.stringify({ DeviceID: 'thermostat-1', Temperature: 90, EventToken: 'tok\u001b[31m\u009b2J', EventEnqueuedUtcTime: '2026-11-28T09:00:00Z' })}\n`,
    );
    const run = fieldlink('rules', 'test', '--rules', join(examples, 'devicerules.json'), '--telemetry', telemetry);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('escape.jsonl:1: (line): is not JSON');
    expect(run.stderr).toContain('\\x1b');
    expect(run.stdout).toContain('tok\\x1b[31m\\x9b2J');
    for (const text of [run.stdout, run.stderr]) expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('fieldlink --help', () => {
  it('documents every command with examples', () => {
    const top = fieldlink('--help');
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('up ');
    expect(top.stdout).toContain('rules');
    expect(top.stdout).toContain('Examples:');
    const up = fieldlink('up', '--help');
    for (const option of ['--config', '--profile', '--data-dir', '--ephemeral', '--crm', '--devices', '--drifting', '--interval', '--no-web', '--json'])
      expect(up.stdout).toContain(option);
    const rulesTest = fieldlink('rules', 'test', '--help');
    expect(rulesTest.stdout).toContain('--telemetry <file>');
    expect(rulesTest.stdout).toContain('apps/cli/examples/telemetry.sample.jsonl');
    expect(top.stdout).toContain('replay');
    const replay = fieldlink('replay', '--help');
    for (const option of ['--rules <file>', '--telemetry <file>', '--json', '--max-bad-lines', '--max-line-bytes']) expect(replay.stdout).toContain(option);
  });

  it('refuses a wrong setting before starting anything, naming it', () => {
    const run = spawnSync(tsx, [main, 'up', '--ephemeral', '--no-web'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, FIELDLINK_PORTS_CRM: 'salesforce' },
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('configuration: ports.crm (env FIELDLINK_PORTS_CRM): expected one of "in-memory", "dataverse"');
  });
});

/** Every step of the command, from its request to the device's answer, is printed under the id of the reading that raised the alert. */
const expectCommandStepsUnderOneId = (out: string): void => {
  const chain = /alert\.raised\s+\[(\w{8})\] deviceId=thermostat-1/.exec(out)?.[1];
  expect(chain).toBeDefined();
  for (const step of ['command.requested', 'device.command-completed', 'command.sent', 'command.delivered', 'command.acknowledged']) {
    expect(out, step).toMatch(new RegExp(`${step.replace('.', '\\.')}\\s+\\[${chain}\\] .*deviceId=thermostat-1`));
  }
};

/** Runs `fieldlink up` (3 devices, no pages) until `deviceId`'s command is acknowledged (or its output matches `until`) or 45 s pass, then stops it with SIGINT. */
async function upUntilAcknowledged(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  deviceId = 'thermostat-1',
  fleet: readonly string[] = ['--devices', '3'],
  until?: RegExp,
): Promise<{ out: string; exitCode: number | null }> {
  // Node itself with tsx as a loader, not the tsx CLI: SIGINT goes straight to the process under test (the CLI's relay
  // kills a child that does not confirm a relayed signal within 30 ms, which a loaded machine can miss).
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'up', ...args, ...fleet, '--interval', '200', '--no-web'], { cwd: root, env });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const done = until ?? new RegExp(`command\\.acknowledged .*deviceId=${deviceId}`);
  // Past the 45 s it stops all the same: the caller's assertions on the output say what was missing.
  await waitFor(`${done} in the output`, () => (done.test(out) ? true : undefined), 45_000, 100).catch(() => undefined);
  child.kill('SIGINT');
  // What it prints while stopping counts too.
  const exitCode = await exited;
  return { out, exitCode };
}

describe('fieldlink up', () => {
  it('runs the loop until the command is acknowledged, each step under the reading id, then stops cleanly on SIGINT with exit code 0', async () => {
    const { out, exitCode } = await upUntilAcknowledged(['--ephemeral'], { ...process.env, FORCE_COLOR: '0' });
    expect(exitCode).toBe(0);
    expect(out).toMatch(/alert\.raised\s+\[(\w{8})\].*\n(.*\n)*.*crm\.msdyn_iotalert\s+\[\1\]/);
    expectCommandStepsUnderOneId(out);
    // up turns its demo policy on explicitly, and says so.
    expect(out).toMatch(
      /automation\.policy\s+source="?demo \(.*automation\.demo\.yaml\)"?.*cool-down-on-AlarmTemp: deviceType=Thermostat ruleOutput=AlarmTemp → command \\?"Set Values/,
    );
    expect(out).toContain('fieldlink.stopped');
  }, 60_000);

  it('runs the pressure sensor example configuration: its own reading, rule, policy and command, until the sensor answers', async () => {
    const { out, exitCode } = await upUntilAcknowledged(
      ['--ephemeral', '--config', join(examples, 'fieldlink.pressure.yaml')],
      { ...process.env, FORCE_COLOR: '0' },
      'pressuresensor-1',
      [],
    );
    expect(exitCode).toBe(0);
    expect(out).toMatch(/automation\.policy\s+.*vent-on-AlarmPressure: deviceType=PressureSensor ruleOutput=AlarmPressure → command \\?"Release Pressure/);
    expect(out).toMatch(/fieldlink\.up\s+.*sensors="?2 PressureSensor/);
    expect(out).toMatch(/alert\.raised\s+\[\w{8}\] deviceId=pressuresensor-1/);
    expect(out).toMatch(/command\.acknowledged .*deviceId=pressuresensor-1/);
    expect(out).not.toMatch(/deviceId=pressuresensor-2.*alert\.raised|alert\.raised.*deviceId=pressuresensor-2/);
  }, 60_000);

  it('refuses a bad automation document at start, naming the setting and its file, exit code 2', () => {
    const automation = join(dir, 'automation.bad.yaml');
    writeFileSync(
      automation,
      'rules:\n  - name: boom\n    when: { deviceType: Thermostat }\n    actions:\n      - command: Set Values\n        parameters: { Reading: { Temperature: "1e308" } }\n',
    );
    const config = join(dir, 'bad-automation.yaml');
    writeFileSync(config, 'automation:\n  file: automation.bad.yaml\n');
    const run = fieldlink('up', '--no-web', '--config', config);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('automation.file');
    expect(run.stderr).toContain('automation.bad.yaml');
    expect(run.stderr).toContain('rules.0.actions.0: not a valid Thermostat command: Parameters.Reading.Temperature: expected at most 150');
    expect(run.stderr).toContain('Nothing was started.');
  });

  for (const importExtension of [false, true]) {
    it(`with --crm dataverse runs the loop through the Dynamics adapter and the Dataverse emulator in process (${importExtension ? 'with the Fieldlink extension solution' : 'a stock organisation'}), until the command is acknowledged; SIGINT stops both, exit code 0`, async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
      for (const name of Object.keys(env)) if (name.startsWith('FIELDLINK_')) delete env[name];
      if (importExtension) env['FIELDLINK_DATAVERSE_IMPORT_EXTENSION'] = 'true';
      const { out, exitCode } = await upUntilAcknowledged(['--ephemeral', '--crm', 'dataverse'], env);
      expect(exitCode).toBe(0);
      const emulator = /dataverse\.emulator-started\s+url=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      expect(emulator).not.toBeNull();
      expect(out).toContain(importExtension ? 'organisation="stock CFS + Fieldlink extension solution"' : 'organisation="stock CFS"');
      expect(out).toMatch(/fieldlink\.up\s+profile=embedded crm=dataverse devices=3 drifting=1 registered=3/);
      // The alert record read back from the emulator (a GUID id), then the command the rules framework made, acknowledged, all under the reading's id.
      expect(out).toMatch(
        /alert\.raised\s+\[(\w{8})\].*\n(.*\n)*.*crm\.msdyn_iotalert\s+\[\1\] msdyn_iotalertid=[0-9a-f]{8}-[0-9a-f]{4}-.*msdyn_deviceid=thermostat-1(.*\n)*.*command\.sent\s+\[\1\](.*\n)*.*command\.acknowledged\s+\[\1\] .*deviceId=thermostat-1/,
      );
      // The same steps as with the in-memory CRM, each under that one id: the device's own line and delivery included.
      expectCommandStepsUnderOneId(out);
      expect(out).toContain('fieldlink.stopped');
      await expect(fetch(`${emulator![1]}/api/data/v9.2/msdyn_iotalerts`)).rejects.toThrow();
    }, 60_000);
  }

  it('keeps its state under --data-dir by default: started again on the same directory, it has the alerts and commands of its last run and raises new ones', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
    for (const name of Object.keys(env)) if (name.startsWith('FIELDLINK_')) delete env[name];
    const dataDir = mkdtempSync(join(tmpdir(), 'fieldlink-up-'));
    try {
      const first = await upUntilAcknowledged(['--data-dir', dataDir], env);
      expect(first.exitCode).toBe(0);
      expect(first.out).toContain(`fieldlink.state          dataDir=${dataDir}`);
      expect(first.out).toMatch(/fieldlink\.up\s+profile=durable dataDir=\S+ crm=dataverse/);
      const totals = /fieldlink\.stopped\s+alerts=(\d+) rootAlerts=\d+ commands=(\d+) acknowledged=(\d+)/.exec(first.out);
      expect(totals).not.toBeNull();
      expect(Number(totals![3])).toBeGreaterThanOrEqual(1);
      expect(readdirSync(dataDir).sort()).toEqual(['dataverse.db', 'hub.db', 'queues.db', 'rulestate.db', 'status.db']);
      // Started again on the same directory: it finds what the first run left, and a reading over the threshold still
      // raises an alert (the restored ingest position does not make the new hub's readings look already processed).
      const second = await upUntilAcknowledged(
        ['--data-dir', dataDir],
        env,
        'thermostat-1',
        ['--devices', '3'],
        /alert\.raised\s+\[\w{8}\] deviceId=thermostat-1/,
      );
      expect(second.exitCode).toBe(0);
      expect(second.out).toMatch(/alert\.raised\s+\[\w{8}\] deviceId=thermostat-1/);
      // At least as many: the first run's records are all there, beside what the second adds.
      const again = /fieldlink\.stopped\s+alerts=(\d+) rootAlerts=\d+ commands=(\d+) acknowledged=(\d+)/.exec(second.out);
      expect(again).not.toBeNull();
      expect(Number(again![1])).toBeGreaterThanOrEqual(Number(totals![1]));
      expect(Number(again![2])).toBeGreaterThanOrEqual(Number(totals![2]));
      expect(Number(again![3])).toBeGreaterThanOrEqual(Number(totals![3]));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('fieldlink doctor', () => {
  it('has nothing to check on the embedded default (exit 0), refuses a wrong configuration (exit 2), and names an organisation that does not answer (exit 1)', async () => {
    const clean: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
    for (const name of Object.keys(clean)) if (name.startsWith('FIELDLINK_')) delete clean[name];
    const doctor = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', main, 'doctor'], { cwd: root, encoding: 'utf8', env: { ...clean, ...env }, timeout: 60_000 });
    const nothing = doctor({});
    expect([nothing.status, nothing.stdout]).toEqual([
      0,
      'Nothing to check: every port is in this process (in memory, SQLite or the embedded Dataverse emulator).\n',
    ]);
    const wrong = doctor({ FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('serviceBus.connectionString');
    const port = await deadPort();
    const dead = doctor({ FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: `http://127.0.0.1:${port}/` });
    expect(dead.status).toBe(1);
    expect(dead.stdout).toMatch(
      new RegExp(`^✘ dataverse http://127\\.0\\.0\\.1:${port}/ \\(dataverse\\.url\\): WhoAmI unreachable: .*\\n1 problem found\\.\\n$`),
    );
  }, 120_000);
});

describe('fieldlink up --health-port with log.format json', () => {
  it('logs only JSON lines, answers /readyz 200 once up, and stops on SIGINT with exit code 0', async () => {
    const healthPort = await deadPort();
    const up = startUp(['--ephemeral', '--health-port', String(healthPort)], { FIELDLINK_LOG_FORMAT: 'json' });
    await up.until(/"event":"fieldlink\.up"/);
    const readyz = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect([readyz.status, await readyz.json()]).toEqual([200, { service: 'fieldlink', status: 'ready' }]);
    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    const lines = up.output.stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toContain('fieldlink.health');
    expect(up.output.stderr).toBe('');
  }, 90_000);
});

/** A loopback port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `fieldlink up` as a child process: its output so far, a wait for a pattern, and its exit. */
function startUp(args: readonly string[], env: Record<string, string>) {
  const clean: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  for (const name of Object.keys(clean)) if (name.startsWith('FIELDLINK_')) delete clean[name];
  // Node with tsx as a loader, not the tsx CLI: the signal reaches the process under test itself
  // (the tsx CLI kills its child when it does not confirm a relayed signal within 30 ms).
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'up', '--no-web', '--devices', '1', ...args], { cwd: root, env: { ...clean, ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output.stderr += d));
  // 'close', not 'exit': the output is all read by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = async (pattern: RegExp): Promise<void> => {
    // false: the process exited first.
    const seen = await waitFor(
      `${pattern} in the output`,
      () => (pattern.test(output.stdout + output.stderr) ? true : child.exitCode === null ? undefined : false),
      90_000,
      50,
    );
    if (!seen) throw new Error(`exited before ${pattern}: ${output.stdout}${output.stderr}`);
  };
  return { child, output, exited, until };
}

/** What the user reads on stderr: no stack trace, no unhandled rejection, one line from fieldlink. */
const expectOneClearLine = (stderr: string): string => {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/unhandled|UnhandledPromiseRejection/i);
  const ours = stderr.split('\n').filter((l) => l.startsWith('fieldlink up:'));
  expect(ours).toHaveLength(1);
  return ours[0]!;
};

/** A loopback port that takes connections and never answers: a start that hangs. */
async function silentPort(): Promise<{ port: number; close(): Promise<void> }> {
  const { createServer } = await import('node:net');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('fieldlink up against endpoints that do not answer', () => {
  it('with the CRM at a Dataverse URL that never answers, reports what it is waiting for and gives up after --startup-timeout with one line naming the endpoint (password hidden) and the setting, exit code 1', async () => {
    const silent = await silentPort();
    try {
      const healthPort = await deadPort();
      const up = startUp(['--ephemeral', '--crm', 'dataverse', '--startup-timeout', '8000', '--health-port', String(healthPort)], {
        FIELDLINK_DATAVERSE_URL: `http://alice:s3cret-pass@127.0.0.1:${silent.port}/`,
      });
      // Progress while it waits: the part and where it connects to.
      await up.until(/fieldlink\.still-starting\s+part=simulated-fleet/);
      // Alive and not ready, naming the part it waits for.
      expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
      const readyz = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      expect(readyz.status).toBe(503);
      expect(((await readyz.json()) as { notReady: unknown[] }).notReady).toContainEqual({ part: 'simulated-fleet', reason: 'starting' });
      expect(up.output.stdout).toMatch(
        new RegExp(
          `fieldlink\\.still-starting\\s+part=simulated-fleet waitedS=\\d+ connectingTo="http://\\[redacted\\]@127\\.0\\.0\\.1:${silent.port}/ \\(dataverse\\.url\\)" limitMs=8000`,
        ),
      );
      expect(await up.exited).toBe(1);
      const line = expectOneClearLine(up.output.stderr);
      expect(line).toBe(
        `fieldlink up: did not start within 8000 ms (still starting simulated-fleet); check http://[redacted]@127.0.0.1:${silent.port}/ (dataverse.url, FIELDLINK_DATAVERSE_URL); the limit is startup.timeoutMs (FIELDLINK_STARTUP_TIMEOUT_MS)`,
      );
      expect(up.output.stdout + up.output.stderr).not.toContain('s3cret-pass');
    } finally {
      await silent.close();
    }
  }, 60_000);

  it('with the CRM at a dead Dataverse port, ends once the adapter gives up with one line naming the part, the reason, the endpoint and the setting, exit code 1', async () => {
    const port = await deadPort();
    const up = startUp(['--ephemeral', '--crm', 'dataverse', '--startup-timeout', '0'], {
      FIELDLINK_DATAVERSE_URL: `http://alice:s3cret-pass@127.0.0.1:${port}/`,
    });
    expect(await up.exited).toBe(1);
    const line = expectOneClearLine(up.output.stderr);
    expect(line).toMatch(
      /^fieldlink up: simulated-fleet could not start: .*ECONNREFUSED.*; check http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/ \(dataverse\.url, FIELDLINK_DATAVERSE_URL\)$/,
    );
    expect(up.output.stdout + up.output.stderr).not.toContain('s3cret-pass');
  }, 90_000);

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`stops at once on ${signal} while the start hangs on an endpoint that never answers (no time limit), exit code ${code}`, async () => {
      const silent = await silentPort();
      try {
        const up = startUp(['--ephemeral', '--crm', 'dataverse', '--startup-timeout', '0', '--verbose'], {
          FIELDLINK_DATAVERSE_URL: `http://127.0.0.1:${silent.port}/`,
        });
        await up.until(/fieldlink\.starting-part\s+part=simulated-fleet/);
        up.child.kill(signal);
        expect(await up.exited).toBe(code);
        expect(expectOneClearLine(up.output.stderr), up.output.stdout + up.output.stderr).toBe(`fieldlink up: stopped by ${signal} while starting`);
      } finally {
        await silent.close();
      }
    }, 60_000);
  }

  it('on the Azure profile with IoT Hub, Event Hubs, Service Bus and storage all dead, ends with one line naming the endpoint and setting it waits for (no key shown), exit code 1', async () => {
    const port = await deadPort();
    const key = Buffer.from('a-key-that-must-not-show').toString('base64');
    const up = startUp(['--profile', 'azure', '--startup-timeout', '4000'], {
      FIELDLINK_DATAVERSE_URL: `http://127.0.0.1:${port}/`,
      FIELDLINK_IOT_HUB_CONNECTION_STRING: `HostName=127.0.0.1:${port};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
      FIELDLINK_EVENT_HUBS_CONNECTION_STRING: `Endpoint=sb://127.0.0.1:${port}/;SharedAccessKeyName=owner;SharedAccessKey=${key};EntityPath=hub`,
      FIELDLINK_SERVICE_BUS_CONNECTION_STRING: `Endpoint=sb://127.0.0.1:${port}/;SharedAccessKeyName=owner;SharedAccessKey=${key}`,
      FIELDLINK_BLOB_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
    });
    expect(await up.exited).toBe(1);
    const line = expectOneClearLine(up.output.stderr);
    expect(line).toMatch(
      new RegExp(
        `^fieldlink up: (did not start within 4000 ms \\(still starting [\\w-]+\\)|[\\w-]+ could not start: .*); check \\S*127\\.0\\.0\\.1:${port}\\S* \\((dataverse\\.url|(iotHub|eventHubs|serviceBus|blob)\\.connectionString), FIELDLINK_[A-Z_]+\\)`,
      ),
    );
    expect(up.output.stdout + up.output.stderr).not.toContain(key);
  }, 60_000);
});
