import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectServing, freePort } from '@fieldlink/composition/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(root, 'apps/dataverse-emulator/src/main.ts');
const node = [process.execPath, '--import', 'tsx', main] as const;

describe('dataverse-emulator main', () => {
  it('with --json and --health-port logs only JSON lines, answers /healthz and /readyz 200 once the Web API serves, until SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(node[0], [...node.slice(1), '--json', '--health-port', String(port)], { cwd: root, env: { ...process.env, FIELDLINK_LOG_FORMAT: '' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => out, { timeout: 60_000 }).toContain('"event":"dataverse-emulator.started"');
      const started = out
        .split('\n')
        .map((l) => (l === '' ? undefined : (JSON.parse(l) as { event: string; webApi?: string })))
        .find((e) => e?.event === 'dataverse-emulator.started');
      expect(started?.webApi).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/?$/);
      await expectServing(port, 'dataverse-emulator');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);

  it('refuses a bad flag with exit code 2, and a database it cannot open with one line and exit code 1', () => {
    const bad = spawnSync(node[0], [...node.slice(1), '--health-port', 'x'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('dataverse-emulator: --health-port (FIELDLINK_HEALTH_PORT) must be a port from 0 to 65535, not x\n');
    const unopenable = spawnSync(node[0], [...node.slice(1), '--database', '/nonexistent-directory/dataverse.db'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(unopenable.status).toBe(1);
    expect(unopenable.stderr).toMatch(/^dataverse-emulator: could not start on 127\.0\.0\.1:0 with database \/nonexistent-directory\/dataverse\.db: .+\n$/);
  }, 90_000);
});
