import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BATCH_REQUESTS } from './batch-request.js';
import { startDataverseEmulator, type DataverseEmulatorOptions, type RunningDataverseEmulator } from './dataverse-emulator.js';

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** A raw request (fetch cannot set Host or Origin), its whole answer read. */
function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  const { port } = new URL(emulator!.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/api/data/v9.2/${path}`,
        headers: {
          ...(body === undefined || headers['transfer-encoding'] !== undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    // A server that refuses early may close before the whole body is sent: the answer still counts.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(body);
  });
}

const AUTH = { authorization: 'Bearer any-token', 'content-type': 'application/json' };
const start = async (options: DataverseEmulatorOptions = {}): Promise<void> => {
  emulator = await startDataverseEmulator(options);
};
const commands = async (): Promise<number> => emulator!.count('msdyn_iotdevicecommands');
const errorOf = (answer: Answer): { code: string; message: string } => (JSON.parse(answer.text) as { error: { code: string; message: string } }).error;

describe('the emulator refuses what Dataverse refuses, and what a hostile page could send', () => {
  it('refuses the command a foreign page posted as text/plain without a token (the issue reproduction), and writes nothing', async () => {
    await start();
    const body = JSON.stringify({
      msdyn_name: 'x',
      msdyn_message: '{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"140"}}}',
      msdyn_deviceid: 'thermostat-2',
    });
    const asCurl = await send('POST', 'msdyn_iotdevicecommands', { origin: 'http://evil.example', 'content-type': 'text/plain;charset=UTF-8' }, body);
    expect(asCurl.status).toBeGreaterThanOrEqual(400);
    // Each rule alone refuses it: a foreign origin, no token, a body that is not JSON, a foreign host.
    expect((await send('POST', 'msdyn_iotdevicecommands', { ...AUTH, origin: 'http://evil.example' }, body)).status).toBe(403);
    expect((await send('POST', 'msdyn_iotdevicecommands', { 'content-type': 'application/json' }, body)).status).toBe(401);
    const textPlain = await send('POST', 'msdyn_iotdevicecommands', { ...AUTH, 'content-type': 'text/plain;charset=UTF-8' }, body);
    expect(textPlain.status).toBe(415);
    expect(errorOf(textPlain).message).toContain('application/json');
    expect((await send('POST', 'msdyn_iotdevicecommands', { ...AUTH, host: 'evil.example' }, body)).status).toBe(421);
    expect((await send('POST', 'msdyn_iotdevicecommands', { ...AUTH, host: 'evil.example:80' }, body)).status).toBe(421);
    expect(await commands()).toBe(0);
  });

  it('answers a request without a bearer token as Dataverse does: 401, an empty body and the WWW-Authenticate challenge', async () => {
    await start();
    for (const authorization of [undefined, '', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer  ']) {
      const answer = await send('GET', 'msdyn_iotdevices', authorization === undefined ? {} : { authorization });
      expect(answer.status, String(authorization)).toBe(401);
      expect(answer.text).toBe('');
      expect(answer.headers['www-authenticate']).toBe(
        `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=${emulator!.url}/`,
      );
    }
    expect((await send('GET', 'msdyn_iotdevices', { authorization: 'Bearer anything-at-all' })).status).toBe(200);
  });

  it('with a fixed token configured, takes only that token', async () => {
    await start({ accessToken: 'the-one-token' });
    expect((await send('GET', 'msdyn_iotdevices', { authorization: 'Bearer another-token' })).status).toBe(401);
    expect((await send('GET', 'msdyn_iotdevices', { authorization: 'Bearer the-one-token' })).status).toBe(200);
  });

  it('answers no CORS preflight and sends no Access-Control header; its own origin is allowed', async () => {
    await start();
    const preflight = await send('OPTIONS', 'msdyn_iotdevicecommands', {
      origin: 'http://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    });
    expect(preflight.status).toBe(405);
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const own = await send('GET', 'msdyn_iotdevices', { authorization: 'Bearer t', origin: emulator!.url });
    expect(own.status).toBe(200);
    expect(Object.keys(own.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('size limits and malformed requests: a 400 (or 413) in Dataverse’s error shape, never a 500', () => {
  it('refuses a body over the size limit with 413 before reading it whole, by its Content-Length or as it streams', async () => {
    await start({ maxRequestBytes: 1024 });
    const big = JSON.stringify({ msdyn_name: 'x'.repeat(4096) });
    const declared = await send('POST', 'msdyn_customerassets', AUTH, big);
    expect(declared.status).toBe(413);
    expect(errorOf(declared).message).toContain('1024 bytes');
    const chunked = await send('POST', 'msdyn_customerassets', { ...AUTH, 'transfer-encoding': 'chunked' }, big);
    expect(chunked.status).toBe(413);
    expect(emulator!.count('msdyn_customerassets')).toBe(0);
    expect((await send('POST', 'msdyn_customerassets', AUTH, JSON.stringify({ msdyn_name: 'small' }))).status).toBe(204);
  });

  it(`refuses a $batch of more than ${MAX_BATCH_REQUESTS} requests whole, with 400 and nothing written`, async () => {
    await start();
    const part = (i: number) =>
      [
        '--b',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        'POST /api/data/v9.2/msdyn_customerassets HTTP/1.1',
        'Content-Type: application/json',
        '',
        JSON.stringify({ msdyn_name: `a${i}` }),
      ].join('\r\n');
    const batch = (n: number) => [...Array.from({ length: n }, (_, i) => part(i)), '--b--', ''].join('\r\n');
    const tooMany = await send('POST', '$batch', { authorization: 'Bearer t', 'content-type': 'multipart/mixed;boundary=b' }, batch(MAX_BATCH_REQUESTS + 1));
    expect(tooMany.status).toBe(400);
    expect(errorOf(tooMany).message).toContain(`more than ${MAX_BATCH_REQUESTS} requests`);
    expect(emulator!.count('msdyn_customerassets')).toBe(0);
    const enough = await send('POST', '$batch', { authorization: 'Bearer t', 'content-type': 'multipart/mixed;boundary=b' }, batch(3));
    expect(enough.status).toBe(200);
    expect(emulator!.count('msdyn_customerassets')).toBe(3);
  });

  it.each([
    [
      'a $batch part that is no request',
      'POST',
      '$batch',
      'multipart/mixed;boundary=b',
      '--b\r\nContent-Type: application/http\r\n\r\nnot a request line\r\n--b--\r\n',
    ],
    ['a $batch part with nothing in it', 'POST', '$batch', 'multipart/mixed;boundary=b', '--b\r\n'],
    [
      'a $batch part with a malformed absolute URL',
      'POST',
      '$batch',
      'multipart/mixed;boundary=b',
      '--b\r\nContent-Type: application/http\r\n\r\nGET http://[::1 HTTP/1.1\r\n\r\n--b--\r\n',
    ],
    ['a $batch body without its boundary', 'POST', '$batch', 'multipart/mixed;boundary=b', 'nothing here'],
    ['broken percent-encoding in the path', 'GET', 'msdyn_iotdevices(msdyn_deviceid=%27%E0%A4%A%27)', undefined, undefined],
    ['$top=1e308', 'GET', 'msdyn_iotdevices?$top=1e308', undefined, undefined],
    ['$top past Int32', 'GET', 'msdyn_iotdevices?$top=99999999999', undefined, undefined],
    ['7,000 nested parentheses in $filter', 'GET', `msdyn_iotdevices?$filter=${'('.repeat(7_000)}msdyn_name eq 'a'${')'.repeat(7_000)}`, undefined, undefined],
    ['a number literal out of range in $filter', 'GET', `msdyn_iotdevices?$filter=msdyn_registrationstatus%20eq%201e999`, undefined, undefined],
    ['a body that is not JSON', 'POST', 'msdyn_customerassets', 'application/json', '{"msdyn_name":'],
    ['a body nested 100,000 deep', 'POST', 'msdyn_customerassets', 'application/json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['a body that is not UTF-8', 'POST', 'msdyn_customerassets', 'application/json', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ] as const)('answers %s with 400 and an error code', async (_name, method, path, contentType, body) => {
    await start();
    const answer = await send(
      method,
      path.replaceAll(' ', '%20').replaceAll("'", '%27'),
      { authorization: 'Bearer t', ...(contentType === undefined ? {} : { 'content-type': contentType }) },
      body,
    );
    expect(answer.status).toBe(400);
    expect(errorOf(answer).code).toMatch(/^0x[0-9a-f]{8}$/);
  });

  it('answers a $filter of 10,000 nested parentheses or nots inside a $batch (where URLs may be longer) with a 400 part, never a 500', async () => {
    await start();
    const get = (filter: string) =>
      [
        '--b',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        `GET /api/data/v9.2/msdyn_iotdevices?$filter=${filter} HTTP/1.1`,
        '',
      ].join('\r\n');
    const body = [
      get(`${'('.repeat(10_000)}msdyn_name%20eq%20'a'${')'.repeat(10_000)}`),
      get(`${'not%20'.repeat(10_000)}msdyn_name%20eq%20'a'`),
      '--b--',
      '',
    ].join('\r\n');
    const answer = await send(
      'POST',
      '$batch',
      { authorization: 'Bearer t', 'content-type': 'multipart/mixed;boundary=b', prefer: 'odata.continue-on-error' },
      body,
    );
    expect(answer.status).toBe(200);
    expect(answer.text.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 400', 'HTTP/1.1 400']);
    expect(answer.text).toContain('deeper than 100 levels');
  });
});
