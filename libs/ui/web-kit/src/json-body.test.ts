import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readJsonObject } from './json-body.js';

/** A request body arriving in the given chunks, as node:http hands it over. */
const body = (...chunks: string[]): IncomingMessage => Readable.from(chunks.map((c) => Buffer.from(c, 'utf8'))) as unknown as IncomingMessage;

describe('readJsonObject', () => {
  it('reads a JSON object, also when it arrives in pieces', async () => {
    expect(await readJsonObject(body('{"deviceId":', '"thermostat-1","n":2}'))).toEqual({ ok: true, value: { deviceId: 'thermostat-1', n: 2 } });
  });

  it('reads an empty or blank body as an empty object', async () => {
    expect(await readJsonObject(body())).toEqual({ ok: true, value: {} });
    expect(await readJsonObject(body(' \n'))).toEqual({ ok: true, value: {} });
  });

  it('refuses a body that is not JSON, or JSON that is not an object, saying which', async () => {
    expect(await readJsonObject(body('deviceId=x'))).toEqual({ ok: false, error: { path: 'body', message: 'is not JSON' } });
    for (const json of ['[1,2]', 'null', '"text"', '42'])
      expect(await readJsonObject(body(json)), json).toEqual({ ok: false, error: { path: 'body', message: 'expected a JSON object' } });
  });

  it('refuses a body over 64 KiB, naming the limit', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    expect(await readJsonObject(body('{"a":"', chunk, chunk, chunk, chunk, '"}'))).toEqual({
      ok: false,
      error: { path: 'body', message: 'larger than 65536 bytes' },
    });
  });
});
