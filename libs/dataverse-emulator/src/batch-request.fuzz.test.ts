import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_REQUESTS, parseBatch } from './batch-request.js';
import { DataverseFault } from './dataverse-fault.js';

const WEB_API = '/api/data/v9.2/';

const expectTyped = (body: string, contentType: string | undefined): void => {
  const parsed = parseBatch(body, contentType, WEB_API);
  if (parsed.ok) {
    const count = parsed.value.reduce((n, item) => n + (item.kind === 'request' ? 1 : item.operations.length), 0);
    expect(count).toBeLessThanOrEqual(MAX_BATCH_REQUESTS);
  } else {
    expect(parsed.error).toBeInstanceOf(DataverseFault);
    expect(parsed.error.status).toBe(400);
  }
};

const contentType = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('multipart/mixed;boundary=b', 'multipart/mixed; boundary="b"', 'multipart/mixed', 'application/json', 'multipart/mixed;boundary='),
  fc.string({ maxLength: 40 }),
);

/** A request line, headers and a body, each piece valid or broken at random. */
const requestText = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'get', ''),
    fc.constantFrom(
      '/api/data/v9.2/msdyn_iotdevices',
      'http://127.0.0.1:1/api/data/v9.2/msdyn_iotalerts?$top=1',
      'http://[::1',
      'msdyn_iotdevices(%E0%A4%A)',
      '',
      '$batch',
    ),
    fc.constantFrom(' HTTP/1.1', ' HTTP/2', ''),
    fc.array(fc.constantFrom('Content-Type: application/json', 'Content-ID: 1', 'Prefer: return=representation', ':', 'no colon'), { maxLength: 4 }),
    fc.oneof(fc.json(), fc.string({ maxLength: 40 })),
  )
  .map(([method, url, version, headers, body]) => [`${method} ${url}${version}`, ...headers, '', body].join('\r\n'));

const part = (boundary: string) =>
  fc.oneof(
    requestText.map((r) => `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${r}`),
    fc
      .array(requestText, { maxLength: 4 })
      .map(
        (ops) =>
          `--${boundary}\r\nContent-Type: multipart/mixed;boundary=cs\r\n\r\n${ops.map((o) => `--cs\r\nContent-Type: application/http\r\n\r\n${o}`).join('\r\n')}\r\n--cs--`,
      ),
    fc.string({ maxLength: 60 }).map((junk) => `--${boundary}${junk}`),
  );

const structuredBody = fc
  .tuple(fc.array(part('b'), { maxLength: 12 }), fc.constantFrom('--b--', '--b', ''), fc.constantFrom('\r\n', '\n', ''))
  .map(([parts, end, eol]) => [...parts, end].join(eol));

describe('the $batch body parser under fuzzing', () => {
  it('answers random bytes, with any content type, with parts or a 400 DataverseFault, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), contentType, (bytes, type) => expectTyped(Buffer.from(bytes).toString('utf8'), type)),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (text) => expectTyped(`--b\r\n${text}`, 'multipart/mixed;boundary=b')),
      { numRuns: 1_000 },
    );
  });

  it('answers random multipart bodies of valid and broken parts and changesets with parts or a 400 DataverseFault, never a throw', () => {
    fc.assert(
      fc.property(structuredBody, (body) => expectTyped(body, 'multipart/mixed;boundary=b')),
      { numRuns: 2_000 },
    );
  });

  it(`answers any number of parts with at most ${MAX_BATCH_REQUESTS} of them read, past that a 400`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30_000 }), (n) => {
        const parsed = parseBatch(
          `${'--b\r\nContent-Type: application/http\r\n\r\nGET msdyn_iotdevices HTTP/1.1\r\n\r\n'.repeat(n)}--b--`,
          'multipart/mixed;boundary=b',
          WEB_API,
        );
        expect(parsed.ok).toBe(n >= 1 && n <= MAX_BATCH_REQUESTS);
      }),
      { numRuns: 40 },
    );
  });
});
