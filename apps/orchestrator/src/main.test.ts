import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@fieldlink/ports/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/orchestrator/src/main.ts');
// Node itself with tsx as a loader, not the tsx CLI: the signal goes straight to the process under test.
const node = [process.execPath, '--import', 'tsx', main] as const;

/** Every child a test starts; one still running when its test ends (a failed wait) is killed. */
const children = new Set<ChildProcess>();
const track = <C extends ChildProcess>(child: C): C => (children.add(child), child);
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

describe('orchestrator main', () => {
  it('starts on the embedded default and stops cleanly on SIGTERM with exit code 0', async () => {
    const child = track(spawn(node[0], node.slice(1), { cwd: root, env: { ...process.env, FIELDLINK_LOG_FORMAT: 'json' } }));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the started event', () => out.includes('"event":"orchestrator.started"') || undefined, 60_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const events = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toEqual(['orchestrator.started', 'orchestrator.shares-nothing', 'orchestrator.stopping', 'orchestrator.stopped']);
  });

  it('refuses a wrong setting with its path and exit code 2, starting nothing', () => {
    const run = spawnSync(node[0], node.slice(1), {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus' },
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'configuration: serviceBus.connectionString: is required because ports.alertsQueue is "service-bus": set FIELDLINK_SERVICE_BUS_CONNECTION_STRING',
    );
    expect(run.stdout).toBe('');
  });

  it('with the IoT hub unreachable, stops on SIGTERM while starting (exit code 143), or gives up after startup.timeoutMs with one line naming the hub and the setting (exit code 1)', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const key = Buffer.from('a-key-that-must-not-show').toString('base64');
    const env = {
      ...process.env,
      FIELDLINK_PORTS_CLOUD_TO_DEVICE: 'iot-hub',
      FIELDLINK_IOT_HUB_CONNECTION_STRING: `HostName=127.0.0.1:${port};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
    };
    const run = (extra: Record<string, string>) => {
      const child = track(spawn(node[0], node.slice(1), { cwd: root, env: { ...env, ...extra } }));
      const output = { text: '', stderr: '' };
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output.text += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => ((output.text += d), (output.stderr += d)));
      // 'close', not 'exit': the output is all read by then.
      return { child, output, exited: new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))) };
    };

    const healthPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const free = (probe.address() as { port: number }).port;
        probe.close(() => resolve(free));
      });
    });
    const stopped = run({ FIELDLINK_STARTUP_TIMEOUT_MS: '0', FIELDLINK_HEALTH_PORT: String(healthPort) });
    const seen = await waitFor(
      'the still-starting report',
      () => (stopped.child.exitCode !== null ? 'exited' : stopped.output.text.includes('orchestrator.still-starting') ? 'waiting' : undefined),
      60_000,
    );
    expect(seen, `it exited before it reported waiting: ${stopped.output.text}`).toBe('waiting');
    // Alive, and not ready: /readyz names what it waits for first.
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    const readyz = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as { service: string; status: string; notReady: Array<{ part: string; reason: string }> };
    expect([body.service, body.status]).toEqual(['orchestrator', 'not-ready']);
    expect(body.notReady[0]).toEqual(
      expect.objectContaining({ part: expect.stringMatching(/^(adapters|command-feedback)$/), reason: expect.stringMatching(/^(connecting|starting)$/) }),
    );
    stopped.child.kill('SIGTERM');
    expect(await stopped.exited).toBe(143);
    expect(stopped.output.stderr).toContain('orchestrator: stopped by SIGTERM while starting');

    const timedOut = run({ FIELDLINK_STARTUP_TIMEOUT_MS: '4000' });
    expect(await timedOut.exited).toBe(1);
    // On a loaded machine the adapters may still be loading when the time is up: the hub is named either way.
    expect(timedOut.output.stderr).toMatch(
      new RegExp(
        `orchestrator: did not start within 4000 ms \\(still starting (adapters|command-feedback)\\); check https://127\\.0\\.0\\.1:${port} \\(iotHub\\.connectionString, FIELDLINK_IOT_HUB_CONNECTION_STRING\\)`,
      ),
    );
    expect(timedOut.output.text).not.toContain(key);
    expect(timedOut.output.stderr).not.toMatch(/^\s+at /m);
  }, 120_000);
});
