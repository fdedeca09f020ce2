import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectServing, freePort, jsonLogEvents } from '@fieldlink/composition/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/console/src/main.ts');
const tsx = join(root, 'node_modules/.bin/tsx');
const TOKEN = 'console-app-token-0123';
const env = { ...process.env, FORCE_COLOR: '0', FIELDLINK_CONSOLE_TOKEN: '' };

describe('fieldlink-console', () => {
  it('refuses to start on a non-loopback address without a token, or with a short one, naming the setting', () => {
    const exposed = spawnSync(tsx, [main, '--host', '0.0.0.0'], { cwd: root, encoding: 'utf8', env, timeout: 60_000 });
    expect(exposed.status).toBe(2);
    expect(exposed.stderr).toContain('token: required when binding to 0.0.0.0');
    const short = spawnSync(tsx, [main, '--token', 'abc'], { cwd: root, encoding: 'utf8', env, timeout: 60_000 });
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('token: expected at least 16 characters');
  });

  it('serves the console on loopback with the token from the environment, checks it, and stops on SIGTERM', async () => {
    const child = spawn(tsx, [main, '--port', '0'], { cwd: root, env: { ...env, FIELDLINK_CONSOLE_TOKEN: TOKEN } });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /Console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(out).not.toContain(TOKEN);
      expect((await fetch(`${url}api/snapshot`)).status).toBe(401);
      const snapshot = await fetch(`${url}api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(snapshot.status).toBe(200);
      expect(await snapshot.json()).toMatchObject({ devices: [], alerts: [], commands: [] });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('with log.format json and health.port logs only JSON lines and answers /healthz and /readyz 200 once serving, until SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(tsx, [main, '--port', '0'], { cwd: root, env: { ...env, FIELDLINK_LOG_FORMAT: 'json', FIELDLINK_HEALTH_PORT: String(port) } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => out, { timeout: 60_000 }).toContain('"event":"console.started"');
      await expectServing(port, 'console');
      jsonLogEvents(out);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
