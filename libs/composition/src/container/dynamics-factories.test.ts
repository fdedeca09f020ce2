import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { TOKENS } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { createOrchestrator } from '../runtime/create-runtimes.js';

describe('the dataverse CRM adapter in the composition', () => {
  it('binds the CRM gateway token to the Dynamics adapter when ports.crm is dataverse', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'http://127.0.0.1:9/' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const orchestrator = await createOrchestrator(config.value);
    expect(orchestrator.ok).toBe(true);
    if (!orchestrator.ok) return;
    expect(orchestrator.value.get(TOKENS.CrmGateway)).toBeInstanceOf(DynamicsCrmGateway);
    await orchestrator.value.stop();
  });

  it('refuses, naming the port, a remote organisation without credentials', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'https://contoso.crm.dynamics.com' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const orchestrator = await createOrchestrator(config.value);
    expect(orchestrator).toMatchObject({ ok: false, error: [{ path: 'ports.crm', message: expect.stringContaining('the "dataverse" adapter refused its settings') }] });
  });
});
