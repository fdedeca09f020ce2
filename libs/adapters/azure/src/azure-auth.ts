import type { TokenCredential } from '@azure/identity';

/** How an adapter authenticates: a connection string, or an Entra ID credential and the host. */
export type AzureAuth = { readonly connectionString: string } | { readonly fullyQualifiedNamespace: string; readonly credential: TokenCredential };

const SECRET_FIELDS = ['SharedAccessKey', 'SharedAccessSignature', 'AccountKey', 'sig'];

/** The secret values inside a connection string, so that errors can be scrubbed of them. */
export function secretsOf(connectionString: string): string[] {
  const secrets: string[] = [];
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (SECRET_FIELDS.some((f) => f.toLowerCase() === name.toLowerCase()) && value.length > 0) secrets.push(value);
  }
  return secrets;
}

/** Replaces every secret (and its URL-encoded form) in a text with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  // Tokens the SDKs build carry signatures; never let one through either.
  return out.replace(/(sig=)[^&\s;"']+/gi, '$1***').replace(/((?:SharedAccessKey|AccountKey)=)[^;\s"']+/gi, '$1***');
}

/** An error of the adapters that says what failed without any secret in it. */
export class AzureAdapterError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'AzureAdapterError';
  }
}

/** Wraps whatever an SDK threw, scrubbed of the connection string's secrets. */
export function scrubbed(what: string, error: unknown, secrets: readonly string[]): AzureAdapterError {
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  return new AzureAdapterError(redact(`${what}: ${message}`, secrets), code);
}
