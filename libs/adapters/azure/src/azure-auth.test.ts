import { describe, expect, it } from 'vitest';
import { AzureAdapterError, redact, scrubbed, secretsOf } from './azure-auth.js';

describe('secrets in connection strings', () => {
  const connectionString = 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abc+/def=;EntityPath=q';

  it('finds the key of a Service Bus connection string, and of a storage one', () => {
    expect(secretsOf(connectionString)).toEqual(['abc+/def=']);
    expect(secretsOf('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k3y==;EndpointSuffix=core.windows.net')).toEqual(['k3y==']);
  });

  it('removes the key, its URL-encoded form and any signature from a message', () => {
    const message = `failed for ${connectionString} with sig=${encodeURIComponent('s1g/=')}&se=1 and key ${encodeURIComponent('abc+/def=')}`;
    const clean = redact(message, secretsOf(connectionString));
    expect(clean).not.toContain('abc+/def=');
    expect(clean).not.toContain(encodeURIComponent('abc+/def='));
    expect(clean).not.toContain('s1g');
    expect(clean).toContain('SharedAccessKeyName=Root');
  });

  it('reads an SDK error that carries no message without throwing, as the text String gives', () => {
    const noMessage = Object.assign(new Error('x'), { message: undefined as unknown as string });
    expect(redact(noMessage.message, secretsOf(connectionString))).toBe('undefined');
  });

  it('wraps an SDK error with what failed, a code of its closed union, the SDK code, and a scrubbed copy as cause', () => {
    const error = Object.assign(new TypeError(`bad ${connectionString}`), { code: 'UnauthorizedError' });
    const wrapped = scrubbed('Sending to queue q failed', error, secretsOf(connectionString));
    expect(wrapped).toBeInstanceOf(AzureAdapterError);
    expect(wrapped.message).toMatch(/^Sending to queue q failed: bad /);
    expect(wrapped.message).not.toContain('abc+/def=');
    expect(wrapped.code).toBe('RequestFailed');
    expect(wrapped.sdkCode).toBe('UnauthorizedError');
    expect(wrapped.cause).toMatchObject({ name: 'TypeError', code: 'UnauthorizedError', message: expect.stringMatching(/^bad /) });
    expect(wrapped.cause).not.toBe(error);
    expect(JSON.stringify({ message: (wrapped.cause as Error).message })).not.toContain('abc+/def=');
    expect(scrubbed('Opening queue q failed', 'no such queue', [], 'Misconfigured')).toMatchObject({
      code: 'Misconfigured',
      sdkCode: undefined,
      cause: { name: 'Error', message: 'no such queue' },
    });
  });
});

describe('AzureAdapterError marks what a retry cannot fix', () => {
  it('is permanent for a message too large and a key that can name no blob, and retryable for every other code', () => {
    const permanent = (code: ConstructorParameters<typeof AzureAdapterError>[0]) => new AzureAdapterError(code, 'x').permanent;
    expect(permanent('MessageTooLarge')).toBe(true);
    expect(permanent('InvalidKey')).toBe(true);
    for (const code of ['Misconfigured', 'RequestFailed', 'UnexpectedResponse', 'UnreadableState'] as const) expect(permanent(code)).toBe(false);
  });
});
