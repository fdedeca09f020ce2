import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'fieldlink-processes-'));

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or after `timeoutMs`. */
  until(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

const services: Service[] = [];

/** One service as its own OS process: node with tsx as a loader, so a signal reaches the process under test itself. */
function start(name: string, main: string, args: readonly string[], env: Record<string, string>): Service {
  const clean: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  for (const key of Object.keys(clean)) if (key.startsWith('FIELDLINK_')) delete clean[key];
  const child = spawn(process.execPath, ['--conditions=@fieldlink/source', '--import', 'tsx', join(root, main), ...args], {
    cwd: root,
    env: { ...clean, ...env },
  });
  const service: Service = {
    name,
    child,
    output: '',
    until: async (pattern, timeoutMs = 90_000) => {
      // null: the process exited first.
      const seen = await waitFor(
        `${pattern} from ${name}`,
        () => pattern.exec(service.output) ?? (child.exitCode === null ? undefined : null),
        timeoutMs,
        100,
      ).catch(() => undefined);
      if (seen === null) throw new Error(`${name} exited (${child.exitCode}) before ${pattern}:\n${service.output}`);
      if (seen === undefined) throw new Error(`${name}: no ${pattern} within ${timeoutMs} ms:\n${service.output}`);
      return seen;
    },
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (service.output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (service.output += d));
  services.push(service);
  return service;
}

afterAll(async () => {
  // SIGTERM, and SIGKILL for a process still stopping after 15 s on a loaded machine.
  await Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
          const kill = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
          s.child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          s.child.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('the services as separate processes on one data directory', () => {
  it('close the loop: a drifting thermostat of the simulator → alert (stream processor) → CRM alert and command (orchestrator, emulator) → delivered and acknowledged; the console, running no service of its own, shows it', async () => {
    // One configuration for all: the durable profile on one directory, the CRM of the emulator process.
    const configFile = join(dataDir, 'fieldlink.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        profile: 'durable',
        storage: { dataDir },
        automation: { file: join(root, 'apps/cli/examples/automation.demo.yaml') },
        simulator: { devices: 1, drifting: 1, intervalMs: 200, driftPerMinute: 600, heartbeatIntervalMs: 1_000 },
        log: { format: 'json' },
      }),
    );
    const emulator = start('dataverse-emulator', 'apps/dataverse-emulator/src/main.ts', ['--data-dir', dataDir], {});
    const [, url] = await emulator.until(/organisation URL (http:\/\/127\.0\.0\.1:\d+)/);
    expect(emulator.output).toContain('Service endpoint: the durable outbound queue');
    const env = { FIELDLINK_CONFIG: configFile, FIELDLINK_DATAVERSE_URL: url! };
    const streamProcessor = start('stream-processor', 'apps/stream-processor/src/main.ts', [], env);
    const orchestrator = start('orchestrator', 'apps/orchestrator/src/main.ts', [], env);
    await streamProcessor.until(/"event":"stream-processor\.started"/);
    await orchestrator.until(/"event":"orchestrator\.started"/);
    const consoleApp = start('console', 'apps/console/src/main.ts', ['--port', '0', '--json'], env);
    const [, consoleUrl] = await consoleApp.until(/"event":"console\.started","url":"(http:\/\/127\.0\.0\.1:\d+\/)"/);
    const simulator = start('thermostat-simulator', 'apps/thermostat-simulator/src/main.ts', ['--port', '0', '--json'], env);
    await simulator.until(/"event":"thermostat-simulator\.started"/);

    // The console reads what the others write: the alert, the command the rules framework sent, and its acknowledgement.
    type Snapshot = { devices: Array<{ deviceId: string }>; alerts: Array<{ deviceId: string }>; commands: Array<{ deviceId: string; state: string }> };
    let last: Snapshot | undefined;
    const probe = async (): Promise<Snapshot | undefined> => {
      const res = await fetch(`${consoleUrl}api/snapshot`).catch(() => undefined);
      last = res?.ok === true ? ((await res.json()) as Snapshot) : last;
      // The device's row comes from the status store at the stream processor's next commit, which may follow the acknowledgement.
      return last?.commands.some((c) => c.deviceId === 'thermostat-1' && c.state === 'acknowledged') && last.devices.some((d) => d.deviceId === 'thermostat-1')
        ? last
        : undefined;
    };
    const snapshot = await waitFor('an acknowledged command in the console', probe, 100_000, 500).catch(() => {
      throw new Error(
        `no acknowledged command in the console: ${JSON.stringify(last)}\n${services.map((s) => `--- ${s.name}\n${s.output.slice(-3_000)}`).join('\n')}`,
      );
    });
    expect(snapshot.alerts.some((a) => a.deviceId === 'thermostat-1')).toBe(true);
    expect(snapshot.devices.map((d) => d.deviceId)).toContain('thermostat-1');
    // Each step in the process that owns it. The console reads the acknowledgement from the shared
    // store as soon as it is stored; the orchestrator's log line about it may still be on its way.
    expect(streamProcessor.output).toMatch(/"event":"alert\.raised"/);
    await orchestrator.until(/"event":"command\.acknowledged"/, 30_000);
    // The console ran no stream processor or orchestrator of its own.
    expect(consoleApp.output).not.toMatch(/"event":"(alert\.raised|command\.sent|telemetry\.|inbound)/);
    for (const s of [streamProcessor, orchestrator]) expect(s.output).not.toContain('shares-nothing');
  }, 240_000);
});
