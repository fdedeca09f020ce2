import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { ServiceProtectionSettings } from './service-protection.js';

/**
 * Where the adapter connects and how it signs in. `organizationUrl` is the organisation's root
 * (`https://contoso.crm4.dynamics.com`, or the emulator's URL); the Web API path `/api/data/v9.2/`
 * is added by dynamics-web-api.
 */
export interface DynamicsSettings {
  readonly organizationUrl: string;
  /** Any Entra ID credential; or give `clientSecret` below to use a client secret. */
  readonly credential?: TokenCredential;
  readonly clientSecret?: { readonly tenantId: string; readonly clientId: string; readonly secret: string; readonly authorityHost?: string };
  /** Without a credential, requests go unauthenticated: only for the local emulator. */
  readonly allowAnonymous?: boolean;
  /** Per request, before it counts as timed out and is retried. */
  readonly requestTimeoutMs?: number;
  readonly serviceProtection?: Partial<ServiceProtectionSettings>;
  /** Operations per `$batch` request (and per changeset) for bulk writes; Microsoft suggests about 10. */
  readonly batchSize?: number;
  /** Web API version (dynamics-web-api's `dataApi.version`). */
  readonly webApiVersion?: string;
  /**
   * The optional Fieldlink extension solution (`solution/`): `discover` (the default) reads
   * `EntityDefinitions` once to see whether the organisation has its columns and uses them when it
   * does; `never` keeps to stock columns without asking.
   */
  readonly extension?: 'discover' | 'never';
}

/** The OAuth scope of an organisation: its root URL with `/.default`. */
export function scopeOf(organizationUrl: string): string {
  return `${new URL(organizationUrl).origin}/.default`;
}

export function credentialOf(settings: DynamicsSettings): TokenCredential | undefined {
  if (settings.credential !== undefined) return settings.credential;
  const cs = settings.clientSecret;
  if (cs === undefined) return undefined;
  return new ClientSecretCredential(cs.tenantId, cs.clientId, cs.secret, {
    ...(cs.authorityHost !== undefined ? { authorityHost: cs.authorityHost } : {}),
    retryOptions: { maxRetries: 1 },
  });
}

/** Refuses settings that cannot work, naming the setting. */
export function checkSettings(settings: DynamicsSettings): string[] {
  const problems: string[] = [];
  try {
    const url = new URL(settings.organizationUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`organizationUrl: expected an http(s) URL, got ${url.protocol}`);
  } catch {
    problems.push(`organizationUrl: expected a URL, got ${JSON.stringify(settings.organizationUrl)}`);
  }
  if (settings.credential === undefined && settings.clientSecret === undefined && settings.allowAnonymous !== true) {
    problems.push('credential: expected a TokenCredential or clientSecret { tenantId, clientId, secret } (allowAnonymous only for the emulator)');
  }
  if (settings.clientSecret !== undefined) {
    for (const key of ['tenantId', 'clientId', 'secret'] as const) {
      if (!settings.clientSecret[key]) problems.push(`clientSecret.${key}: expected a non-empty string`);
    }
  }
  if (settings.batchSize !== undefined && !(Number.isInteger(settings.batchSize) && settings.batchSize >= 1 && settings.batchSize <= 1000)) {
    problems.push(`batchSize: expected an integer from 1 to 1000, got ${settings.batchSize}`);
  }
  return problems;
}
