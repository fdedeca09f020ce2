import { describe, expect, it } from 'vitest';
import { checkAccessSettings, isLoopbackHost, TOKEN_MIN_LENGTH } from './access-token.js';

const TOKEN = 'a-token-of-sixteen-chars';

describe('isLoopbackHost', () => {
  it('counts localhost, ::1 and all of 127.0.0.0/8 as loopback', () => {
    for (const host of ['localhost', '::1', '127.0.0.1', '127.1.2.3']) expect(isLoopbackHost(host), host).toBe(true);
  });

  it('counts every other address as reachable by others', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '127.0.0.1.example.com', 'localhost.example.com', ''])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('the token rule (checkAccessSettings)', () => {
  it('lets loopback go without a token', () => {
    expect(checkAccessSettings({ host: '127.0.0.1' })).toEqual({ ok: true, value: { host: '127.0.0.1' } });
    expect(checkAccessSettings({ host: '::1' }).ok).toBe(true);
  });

  it('refuses any other address without a token, naming the setting and the address', () => {
    expect(checkAccessSettings({ host: '0.0.0.0' })).toEqual({
      ok: false,
      error: {
        path: 'token',
        message: `required when binding to 0.0.0.0 (any address other than loopback); give one of at least ${TOKEN_MIN_LENGTH} characters`,
      },
    });
    expect(checkAccessSettings({ host: '::' }).ok).toBe(false);
  });

  it('refuses a token shorter than 16 characters, even on loopback', () => {
    expect(checkAccessSettings({ host: '127.0.0.1', token: 'x'.repeat(TOKEN_MIN_LENGTH - 1) })).toEqual({
      ok: false,
      error: { path: 'token', message: 'expected at least 16 characters' },
    });
    expect(checkAccessSettings({ host: '0.0.0.0', token: 'short' })).toEqual({
      ok: false,
      error: { path: 'token', message: 'expected at least 16 characters' },
    });
  });

  it('accepts any address with a long enough token', () => {
    expect(checkAccessSettings({ host: '0.0.0.0', token: TOKEN })).toEqual({ ok: true, value: { host: '0.0.0.0', token: TOKEN } });
    expect(checkAccessSettings({ host: '127.0.0.1', token: 'x'.repeat(TOKEN_MIN_LENGTH) }).ok).toBe(true);
  });
});
