import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { expectServing, freePort, jsonLogEvents } from '@fieldlink/composition/testing';
import { waitFor } from '@fieldlink/ports/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/stream-processor/src/main.ts');
// Node itself with tsx as a loader, not the tsx CLI: the signal goes straight to the process under test.
const node = [process.execPath, '--import', 'tsx', main] as const;

/** Every child a test starts; one still running when its test ends (a failed wait) is killed. */
const children = new Set<ChildProcess>();
const track = <C extends ChildProcess>(child: C): C => (children.add(child), child);
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

describe('stream-processor main', () => {
  it('starts on the embedded default and stops cleanly on SIGTERM with exit code 0', async () => {
    const child = track(spawn(node[0], node.slice(1), { cwd: root, env: { ...process.env, FIELDLINK_LOG_FORMAT: 'json' } }));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the started event', () => out.includes('"event":"stream-processor.started"') || undefined, 60_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const events = jsonLogEvents(out);
    expect(events).toEqual(['stream-processor.started', 'stream-processor.shares-nothing', 'stream-processor.stopping', 'stream-processor.stopped']);
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

  it('with health.port serves /healthz at once and /readyz 200 once started, every log line JSON with log.format json', async () => {
    const port = await freePort();
    const child = track(
      spawn(node[0], node.slice(1), { cwd: root, env: { ...process.env, FIELDLINK_LOG_FORMAT: 'json', FIELDLINK_HEALTH_PORT: String(port) } }),
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the started event', () => out.includes('"event":"stream-processor.started"') || undefined, 60_000);
    await expectServing(port, 'stream-processor');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const events = jsonLogEvents(out);
    expect(events[0]).toBe('stream-processor.health');
  }, 90_000);
});
