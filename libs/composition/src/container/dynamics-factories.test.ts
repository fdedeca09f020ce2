import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { TOKENS, type LogFields, type LogPort } from '@fieldlink/ports';
import { EventFeed } from '../log/event-feed.js';
import { TerminalLog } from '../log/terminal-log.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { createOrchestrator } from '../runtime/create-runtimes.js';

describe('the dataverse CRM adapter in the composition', () => {
  it('binds the CRM gateway token to the Dynamics adapter when ports.crm is dataverse', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'http://127.0.0.1:9/' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const orchestrator = await createOrchestrator(config.value);
    expect(orchestrator.ok).toBe(true);
    if (!orchestrator.ok) return;
    onTestFinished(() => orchestrator.value.stop());
    expect(orchestrator.value.get(TOKENS.CrmGateway)).toBeInstanceOf(DynamicsCrmGateway);
  });

  it('refuses, naming the port, a remote organisation without credentials', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'https://contoso.crm.dynamics.com' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const orchestrator = await createOrchestrator(config.value);
    expect(orchestrator).toMatchObject({
      ok: false,
      error: [{ path: 'ports.crm', message: expect.stringContaining('the "dataverse" adapter refused its settings') }],
    });
  });

  it('hides the password of dataverse.url in the service-endpoint-unreachable warning, in the log and on the terminal', async () => {
    const config = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'http://alice:s3cret-pass@127.0.0.1:9/' } });
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const logged: Array<{ event: string; fields: LogFields }> = [];
    const lines: string[] = [];
    const log: LogPort = {
      info: (event, fields = {}) => void logged.push({ event, fields }),
      warn: (event, fields = {}) => void logged.push({ event, fields }),
      error: (event, fields = {}) => void logged.push({ event, fields }),
    };
    const terminal = new TerminalLog((line) => lines.push(line));
    const orchestrator = await createOrchestrator(config.value, {
      log: {
        info: (e, f) => (log.info(e, f), terminal.info(e, f)),
        warn: (e, f) => (log.warn(e, f), terminal.warn(e, f)),
        error: (e, f) => (log.error(e, f), terminal.error(e, f)),
      },
    });
    if (!orchestrator.ok) throw new Error(JSON.stringify(orchestrator.error));
    await orchestrator.value.stop();
    const warning = logged.find((l) => l.event === 'dataverse.service-endpoint-unreachable');
    expect(warning?.fields['url']).toBe('http://[redacted]@127.0.0.1:9/');
    expect(JSON.stringify(logged)).not.toContain('s3cret-pass');
    expect(lines.join('\n')).toContain('url=http://[redacted]@127.0.0.1:9/');
    expect(lines.join('\n')).not.toContain('s3cret-pass');
  });

  it('hides the user info of a URL in any log event, through the event feed and the terminal log alike', () => {
    const lines: string[] = [];
    new TerminalLog((line) => lines.push(line), { json: true }).warn('x', { endpoint: 'https://u:p4ss@host.example/', nested: 'see http://t0ken@127.0.0.1:1' });
    const seen: LogFields[] = [];
    new EventFeed({ info: () => undefined, warn: (_e, f) => void seen.push(f ?? {}), error: () => undefined }).warn('x', {
      endpoint: 'https://u:p4ss@host.example/',
    });
    expect(lines.join('')).not.toMatch(/p4ss|t0ken/);
    expect(seen).toEqual([{ endpoint: 'https://[redacted]@host.example/' }]);
  });
});
