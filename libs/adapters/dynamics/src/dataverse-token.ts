import type { AccessToken, TokenCredential } from '@azure/identity';
import { TokenUnavailable } from './dataverse-error.js';

/** A token is renewed this long before it expires, so no request goes out with one about to lapse. */
const RENEW_BEFORE_EXPIRY_MS = 120_000;

/**
 * The access token of the Dataverse requests: one from the credential, kept until two minutes
 * before it expires (on the injected clock), one fetch at a time however many requests ask.
 * A failure is a `TokenUnavailable` naming only the credential's error type: its own message may
 * quote what it was given.
 */
export class AccessTokenCache {
  private token: AccessToken | undefined;
  private pending: Promise<AccessToken> | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
    private readonly now: () => number,
  ) {}

  /** The token last handed out, for redaction; undefined before the first. */
  get current(): string | undefined {
    return this.token?.token;
  }

  async get(): Promise<string> {
    if (this.token !== undefined && this.token.expiresOnTimestamp - this.now() > RENEW_BEFORE_EXPIRY_MS) return this.token.token;
    this.pending ??= (async () => {
      try {
        const token = await this.credential.getToken(this.scope);
        if (token === null) throw new TokenUnavailable('the credential returned no token');
        return token;
      } catch (error) {
        if (error instanceof TokenUnavailable) throw error;
        throw new TokenUnavailable(error instanceof Error ? error.name : 'unknown error');
      } finally {
        this.pending = undefined;
      }
    })();
    this.token = await this.pending;
    return this.token.token;
  }
}
