import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { commandStateMoved, CrmError, type LogPort } from '@fieldlink/ports';
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
    expect((error as CrmError).cause).toBeInstanceOf(Error);
    expect(String(((error as CrmError).cause as Error).message)).not.toContain(TOKEN);
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
      {
        organizationUrl: 'http://127.0.0.1:9',
        clientSecret: {
          tenantId: '11111111-2222-3333-4444-555555555555',
          clientId: '66666666-7777-8888-9999-000000000000',
          secret: SECRET,
          authorityHost: 'https://127.0.0.1:1',
        },
      },
      { log },
    );
    const error = await crm.listDevices().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Unauthorized' });
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(SECRET);
  }, 30_000);

  it('refuses settings that cannot work, naming each setting', () => {
    expect(() => new DynamicsCrmGateway({ organizationUrl: 'not a url' })).toThrow(/organizationUrl: expected a URL.*credential: expected a TokenCredential/);
    expect(
      () => new DynamicsCrmGateway({ organizationUrl: 'https://contoso.crm.dynamics.com', clientSecret: { tenantId: '', clientId: 'x', secret: '' } }),
    ).toThrow(/clientSecret.tenantId.*clientSecret.secret/);
  });
});

describe('DynamicsCrmGateway maps Dataverse failures to CrmError codes', () => {
  it.each([
    [400, 'Rejected'],
    [401, 'Unauthorized'],
  ])('answers %i as %s', async (status, code) => {
    const url = await reflectingServer(status);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    await expect(crm.updateIoTAlert('c0ffee00-1234-4abc-8def-0123456789ab', { caseId: 'c0ffee00-1234-4abc-8def-0123456789ac' })).rejects.toMatchObject({
      code,
      status,
    });
  });

  it('answers 404 as NotFound', async () => {
    const url = await reflectingServer(404);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    await expect(crm.listDevices()).rejects.toMatchObject({ code: 'NotFound', status: 404 });
  });

  it('answers a 404 to an alert patch as the AlertNotFound value, with the CrmError as its cause', async () => {
    const url = await reflectingServer(404);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    const updated = await crm.updateIoTAlert('c0ffee00-1234-4abc-8def-0123456789ab', { caseId: 'c0ffee00-1234-4abc-8def-0123456789ac' });
    expect(updated).toMatchObject({ ok: false, error: { code: 'AlertNotFound', alertId: 'c0ffee00-1234-4abc-8def-0123456789ab' } });
    expect(!updated.ok && updated.error.cause).toMatchObject({ code: 'NotFound', status: 404 });
  });

  it('rejects an alert patch with NotFound when the alert exists and the case it binds to does not', async () => {
    // Dataverse answers 404 for a lookup bound to a missing record too; the alert itself reads back.
    server = createServer((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          req.method === 'GET'
            ? { msdyn_iotalertid: 'c0ffee00-1234-4abc-8def-0123456789ab' }
            : { error: { code: '0x80040217', message: 'incident With Id = c0ffee00-1234-4abc-8def-0123456789ac Does Not Exist' } },
        ),
      );
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const crm = new DynamicsCrmGateway({ organizationUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, allowAnonymous: true });
    await expect(crm.updateIoTAlert('c0ffee00-1234-4abc-8def-0123456789ab', { caseId: 'c0ffee00-1234-4abc-8def-0123456789ac' })).rejects.toMatchObject({
      code: 'NotFound',
      status: 404,
    });
  });

  it('answers a 404 to a command status write as the CommandNotFound value, with the CrmError as its cause', async () => {
    const url = await reflectingServer(404);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true, extension: 'never' });
    const written = await crm.updateCommandStatus('c0ffee00-1234-4abc-8def-0123456789ab', { state: 'sent', cfsStatus: 192350001 });
    expect(written).toMatchObject({ ok: false, error: { code: 'CommandNotFound', commandId: 'c0ffee00-1234-4abc-8def-0123456789ab' } });
    expect(!written.ok && written.error.cause).toMatchObject({ code: 'NotFound', status: 404 });
  });

  it.each([
    [400, 'Rejected'],
    [401, 'Unauthorized'],
  ])('rejects a command status write answered %i with CrmError %s', async (status, code) => {
    const url = await reflectingServer(status);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true, extension: 'never' });
    await expect(crm.updateCommandStatus('c0ffee00-1234-4abc-8def-0123456789ab', { state: 'sent', cfsStatus: 192350001 })).rejects.toMatchObject({ code });
  });

  it('answers a lasting 503 as Transient after its retries', async () => {
    const url = await reflectingServer(503);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true, serviceProtection: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await expect(crm.listDevices()).rejects.toMatchObject({ code: 'Transient', message: expect.stringContaining('gave up after 3 attempts') });
  });
});

describe('DynamicsCrmGateway writes a command status conditionally with Dataverse optimistic concurrency', () => {
  const COMMAND = 'c0ffee00-1234-4abc-8def-0123456789ab';

  /** A Web API that holds one command row and, once, lets another writer move it between the adapter's read and its PATCH. */
  async function rowServer(interleave: { state: string } | undefined) {
    const row = { state: 'sent', version: 7 };
    const patches: Array<{ ifMatch: string | undefined; status: number }> = [];
    let pending = interleave;
    server = createServer((req, res) => {
      const etag = `W/"${row.version}"`;
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'application/json; odata.metadata=minimal', 'OData-Version': '4.0' });
        // A stock organisation: no extension column; the state is read from msdyn_commandstatusreason.
        if (req.url?.includes('EntityDefinitions') === true) res.end(JSON.stringify({ value: [] }));
        else
          res.end(
            JSON.stringify({
              '@odata.etag': etag,
              msdyn_commandstatus: 192350001,
              msdyn_commandstatusreason: `[Fieldlink: ${row.state}]`,
              msdyn_iotdevicecommandid: COMMAND,
            }),
          );
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (pending !== undefined) {
          Object.assign(row, { state: pending.state, version: row.version + 1 });
          pending = undefined;
        }
        const ifMatch = req.headers['if-match'];
        const status = ifMatch === '*' || ifMatch === `W/"${row.version}"` ? 204 : 412;
        patches.push({ ifMatch, status });
        if (status === 204)
          Object.assign(row, {
            state: /^\[Fieldlink: (\w+)\]/.exec((JSON.parse(body) as { msdyn_commandstatusreason: string }).msdyn_commandstatusreason)![1],
            version: row.version + 1,
          });
        res.writeHead(status, { 'Content-Type': 'application/json', 'OData-Version': '4.0' });
        res.end(
          status === 204
            ? undefined
            : JSON.stringify({ error: { code: '0x80060882', message: 'The version of the existing record does not match the RowVersion property provided.' } }),
        );
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, row, patches };
  }

  it('sends the ETag read with the state in If-Match, and applies the write when the row did not change', async () => {
    const { url, row, patches } = await rowServer(undefined);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    expect(await crm.updateCommandStatus(COMMAND, { state: 'delivered', cfsStatus: 192350001 }, { ifState: 'sent' })).toEqual({ ok: true, value: undefined });
    expect(patches).toEqual([{ ifMatch: 'W/"7"', status: 204 }]);
    expect(row.state).toBe('delivered');
  });

  it('reads the row again after a 412 and reports the state another writer moved it to, writing nothing', async () => {
    const { url, row, patches } = await rowServer({ state: 'acknowledged' });
    const log = capturingLog();
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true }, { log });
    const outcome = await crm.updateCommandStatus(COMMAND, { state: 'delivered', cfsStatus: 192350001 }, { ifState: 'sent' });
    expect(outcome).toEqual({ ok: false, error: commandStateMoved(COMMAND, 'sent', 'acknowledged') });
    expect(patches).toEqual([{ ifMatch: 'W/"7"', status: 412 }]);
    expect(row.state).toBe('acknowledged');
    expect(log.lines.filter((l) => l.startsWith('dynamics.request-failed'))).toEqual([]);
  });

  it('writes again after a 412 that left the state as read (another field changed)', async () => {
    const { url, row, patches } = await rowServer({ state: 'sent' });
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    expect(await crm.updateCommandStatus(COMMAND, { state: 'delivered', cfsStatus: 192350001 }, { ifState: 'sent' })).toEqual({ ok: true, value: undefined });
    expect(patches).toEqual([
      { ifMatch: 'W/"7"', status: 412 },
      { ifMatch: 'W/"8"', status: 204 },
    ]);
    expect(row.state).toBe('delivered');
  });

  it('reports the state found without a PATCH when the command already moved before the read', async () => {
    const { url, patches } = await rowServer(undefined);
    const crm = new DynamicsCrmGateway({ organizationUrl: url, allowAnonymous: true });
    expect(await crm.updateCommandStatus(COMMAND, { state: 'sent', cfsStatus: 192350001 }, { ifState: 'requested' })).toEqual({
      ok: false,
      error: commandStateMoved(COMMAND, 'requested', 'sent'),
    });
    expect(patches).toEqual([]);
  });
});
