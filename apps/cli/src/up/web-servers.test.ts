import { createLocalStack, parseConfig, TerminalLog, type LocalStack } from '@fieldlink/composition';
import { RegistrationStatus } from '@fieldlink/domain';
import { TOKENS } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebServers, type WebServers } from './web-servers.js';

let stack: LocalStack | undefined;
let web: WebServers | undefined;
afterEach(async () => {
  await web?.close();
  await stack?.stop();
  web = stack = undefined;
});

describe('the pages of fieldlink up', () => {
  it('"Add a thermostat" on the simulator page puts the device in the CRM and registers it in the hub, so it connects', async () => {
    const config = parseConfig({ simulator: { devices: 1, drifting: 0, heartbeatIntervalMs: 0 } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const created = await createLocalStack(config.value, { manualFleet: true });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    stack = created.value;
    await stack.start();
    web = await startWebServers(stack, config.value, new TerminalLog(() => undefined));
    const response = await fetch(`${web.addresses.simulator}api/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'thermostat-new', temperature: 64 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, device: { deviceId: 'thermostat-new', connection: 'connected' } });
    const crm = stack.get(TOKENS.CrmGateway);
    expect(await crm.findDeviceByHubId('thermostat-new')).toMatchObject({
      registrationStatus: RegistrationStatus.Registered,
      customerAssetId: 'local-asset-thermostat-new',
    });
  });
});
