import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectServing, freePort, jsonLogEvents } from '@fieldlink/composition/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/thermostat-simulator/src/main.ts');
const tsx = join(root, 'node_modules/.bin/tsx');
const env = { ...process.env, FORCE_COLOR: '0', FIELDLINK_SIMULATOR_TOKEN: '' };

/** The real app, as a person runs it. */
const simulator = (...args: string[]) => spawnSync(tsx, [main, ...args], { cwd: root, encoding: 'utf8', env, timeout: 60_000 });

describe('fieldlink-thermostat-simulator', () => {
  it('runs the headless load: N devices at R messages per second for the given seconds, and prints what it achieved', () => {
    const run = simulator('--load', '5', '--rate', '50', '--duration', '1');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = /^load: 5 devices, (\d+) sent, 0 failed in [\d.]+ s: [\d.]+ msg\/s of 50 asked$/m.exec(run.stdout);
    expect(summary, run.stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(0);
  });

  it('refuses to serve the page on a non-loopback address without a token, and refuses bad flags, naming them', () => {
    const exposed = simulator('--host', '0.0.0.0', '--port', '0');
    expect(exposed.status).toBe(2);
    expect(exposed.stderr).toContain('token: required when binding to 0.0.0.0');
    const badRate = simulator('--load', '5', '--rate', 'fast');
    expect(badRate.status).not.toBe(0);
    expect(badRate.stderr).toContain('--rate must be a number above 0, got "fast"');
  });

  it('serves the page on loopback and prints its address, until SIGTERM', async () => {
    const child = spawn(tsx, [main, '--port', '0', '--devices', '2'], { cwd: root, env });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /Thermostat simulator: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      const fleet = (await (await fetch(`${url}api/fleet`)).json()) as { devices: Array<{ deviceId: string; connection: string }> };
      expect(fleet.devices.map((d) => [d.deviceId, d.connection])).toEqual([
        ['thermostat-1', 'connected'],
        ['thermostat-2', 'connected'],
      ]);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('with log.format json and health.port logs only JSON lines and answers /healthz and /readyz 200 once serving, until SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(tsx, [main, '--port', '0', '--devices', '1'], {
      cwd: root,
      env: { ...env, FIELDLINK_LOG_FORMAT: 'json', FIELDLINK_HEALTH_PORT: String(port) },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => out, { timeout: 60_000 }).toContain('"event":"thermostat-simulator.started"');
      await expectServing(port, 'thermostat-simulator');
      jsonLogEvents(out);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
