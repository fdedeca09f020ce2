import { createServer } from 'node:net';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import { formatDoctor, runDoctor } from './doctor.js';

const TOKEN = 'doctor-test-token-0123';
let emulator: RunningDataverseEmulator;
beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0, accessToken: TOKEN });
});
afterAll(async () => {
  await emulator?.close();
});

const configOf = (env: Record<string, string>): FieldlinkConfig => {
  const loaded = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', ...env } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
};

describe('fieldlink doctor against a Dataverse organisation (the emulator)', () => {
  it('passes when WhoAmI answers with the token', async () => {
    const checks = await runDoctor(configOf({ FIELDLINK_DATAVERSE_URL: emulator.url, FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN: TOKEN }));
    expect(checks).toEqual([{ service: 'dataverse', target: `${emulator.url} (dataverse.url)`, problems: [] }]);
    expect(formatDoctor(checks)).toBe(`✔ dataverse ${checks[0]!.target}\nAll 1 services answer as configured.`);
  });

  it('names a token the organisation refuses, without showing it', async () => {
    const checks = await runDoctor(configOf({ FIELDLINK_DATAVERSE_URL: emulator.url, FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN: 'a-wrong-token-of-length' }));
    expect(checks[0]!.problems).toEqual(['WhoAmI answered 401: the application user is not authorised in this organisation']);
    expect(formatDoctor(checks)).not.toContain('a-wrong-token-of-length');
    expect(formatDoctor(checks)).toMatch(/^✘ dataverse .*: WhoAmI answered 401.*\n1 problem found\.$/);
  });

  it('names an organisation that does not answer', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const checks = await runDoctor(configOf({ FIELDLINK_DATAVERSE_URL: `http://127.0.0.1:${port}/` }));
    expect(checks[0]!.problems).toEqual([expect.stringMatching(/^WhoAmI unreachable: .*ECONNREFUSED/)]);
  });

  it('has nothing to check when every port is in this process', async () => {
    const loaded = loadConfig({ env: {} });
    if (!loaded.ok) throw new Error('config');
    expect(await runDoctor(loaded.value)).toEqual([]);
    expect(formatDoctor([])).toBe('Nothing to check: every port is in this process (in memory, SQLite or the embedded Dataverse emulator).');
  });
});
