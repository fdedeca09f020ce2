import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { CrmError, type LogPort } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamicsCrmGateway } from './dynamics-crm-gateway.js';

const SECRET = 'client-secret-Zq8~do-not-print';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOi.access-token-do-not-print';

/** Every log line the adapter writes, as text. */
const capturingLog = (): LogPort & { lines: string[] } => {
  const lines: string[] = [];
  const put = (event: string, fields?: object) => void lines.push(`${event} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: put, warn: put, error: put };
};

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server?.closeAllConnections();
  server = undefined;
});

/** A server that reflects the request's Authorization header into its error, as a careless proxy might. */
async function reflectingServer(status: number): Promise<string> {
  server = createServer((req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: '0x80048306', message: `refused request with ${req.headers.authorization ?? 'no header'}` } }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const tokenCredential = (): TokenCredential => ({ getToken: async (): Promise<AccessToken> => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) });

describe('DynamicsCrmGateway keeps secrets out of errors and logs', () => {
  it('never repeats the access token, even when the server quotes it back', async () => {
    const url = await reflectingServer(403);
    const log = capturingLog();
    const crm = new DynamicsCrmGateway({ organizationUrl: url, credential: tokenCredential() }, { log });
    const error = await crm.listDevices().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrmError);
    expect((error as CrmError).code).toBe('Unauthorized');
    expect((error as CrmError).message).toContain('[redacted]');
    expect((error as CrmError).message).not.toContain(TOKEN);
    expect(log.lines.join('\n')).not.toContain(TOKEN);
    expect(log.lines.length).toBeGreaterThan(0);
  });

  it('turns a credential failure into Unauthorized without the credential’s own words', async () => {
    const leaky: TokenCredential = { getToken: async () => Promise.reject(new Error(`AADSTS7000215: Invalid client secret provided: ${SECRET}`)) };
    const log = capturingLog();
    const crm = new DynamicsCrmGateway({ organizationUrl: 'http://127.0.0.1:9', credential: leaky }, { log });
    const error = await crm.getDevice('c0ffee00-1234-4abc-8def-0123456789ab').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Unauthorized' });
    expect(String((error as Error).message)).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(SECRET);
  });

  it('signs in with a client secret through @azure/identity, and a failed sign-in names no secret', async () => {
    const log = capturingLog();
    const crm = new DynamicsCrmGateway(
      // Port 1 on loopback refuses at once: the sign-in fails without leaving the machine.
      { organizationUrl: 'http://127.0.0.1:9', clientSecret: { tenantId: '11111111-2222-3333-4444-555555555555', clientId: '66666666-7777-8888-9999-000000000000', secret: SECRET, authorityHost: 'https://127.0.0.1:1' } },
      { log },
    );
    const error = await crm.listDevices().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Unauthorized' });
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(SECRET);
  }, 30_000);

  it('refuses settings that cannot work, naming each setting', () => {
    expect(() => new DynamicsCrmGateway({ organizationUrl: 'not a url' })).toThrow(/organizationUrl: expected a URL.*credential: expected a TokenCredential/);
    expect(() => new DynamicsCrmGateway({ organizationUrl: 'https://contoso.crm.dynamics.com', clientSecret: { tenantId: '', clientId: 'x', secret: '' } })).toThrow(/clientSecret.tenantId.*clientSecret.secret/);
  });
});

describe('DynamicsCrmGateway maps Dataverse failures to CrmError codes', () => {
  it.each([
    [400, 'Rejected'],
    [401, 'Unauthorized'],
    [404, 'NotFound'],
  ])('answers %i as %s', async (status, code) => {
    const url = await reflectingServer(status);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    await expect(crm.updateCommandStatus('c0ffee00-1234-4abc-8def-0123456789ab', { state: 'sent', cfsStatus: 192350001 })).rejects.toMatchObject({ code });
  });

  it('answers a lasting 503 as Transient after its retries', async () => {
    const url = await reflectingServer(503);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true, serviceProtection: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await expect(crm.listDevices()).rejects.toMatchObject({ code: 'Transient', message: expect.stringContaining('gave up after 3 attempts') });
  });
});
