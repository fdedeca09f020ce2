import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointOfConnectionString, redactUrl, redactUrlsIn } from './redact-url.js';

describe('redactUrl', () => {
  it('hides the user info of every URL in a text, and leaves the rest as it was', () => {
    expect(redactUrl('https://alice:s3cret@contoso.crm.dynamics.com/api')).toBe('https://[redacted]@contoso.crm.dynamics.com/api');
    expect(redactUrl('http://token@127.0.0.1:5555')).toBe('http://[redacted]@127.0.0.1:5555');
    expect(redactUrl('cannot reach https://u:p@a.example and amqps://k:v@b.example/x')).toBe(
      'cannot reach https://[redacted]@a.example and amqps://[redacted]@b.example/x',
    );
    expect(redactUrl('https://contoso.crm.dynamics.com/?q=a@b')).toBe('https://contoso.crm.dynamics.com/?q=a@b');
    expect(redactUrl('mail me at someone@example.com')).toBe('mail me at someone@example.com');
  });

  it('never leaves a password of a URL in what it returns (any user, any password)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,=-]{6,20}$/);
    fc.assert(
      fc.property(secret, secret, (user, password) => {
        const shown = redactUrl(`https://${user}:${password}@org.example/api/data/v9.2/`);
        expect(shown).not.toContain(password);
        expect(shown).toBe('https://[redacted]@org.example/api/data/v9.2/');
      }),
    );
  });

  it('redacts inside nested values', () => {
    expect(redactUrlsIn({ a: ['http://u:p@h'], b: { c: 'https://x:y@z/' }, n: 1 })).toEqual({
      a: ['http://[redacted]@h'],
      b: { c: 'https://[redacted]@z/' },
      n: 1,
    });
  });
});

describe('endpointOfConnectionString', () => {
  it('names the host of a Service Bus, Event Hubs, IoT Hub or storage connection string, never its key', () => {
    expect(endpointOfConnectionString('Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc=')).toBe(
      'sb://ns.servicebus.windows.net/',
    );
    expect(endpointOfConnectionString('HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=abc=')).toBe(
      'https://hub.azure-devices.net',
    );
    expect(endpointOfConnectionString('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc=;EndpointSuffix=core.windows.net')).toBe(
      'https://acct.blob.core.windows.net',
    );
    expect(endpointOfConnectionString('BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;AccountName=devstoreaccount1;AccountKey=k')).toBe(
      'http://127.0.0.1:10000/devstoreaccount1',
    );
    expect(endpointOfConnectionString('nothing useful')).toBeUndefined();
  });
});
