import type { TokenCredential } from '@azure/identity';
import { FieldlinkError } from '@fieldlink/domain';

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

/**
 * Replaces every secret (and its URL-encoded form) in a text with `***`. The SDKs' errors do not
 * always carry a message (an AMQP settlement error reached here with none, and the throw ended the
 * process from inside the SDK's callback): what is not a string is read as `String` reads it.
 */
export function redact(text: string | undefined, secrets: readonly string[]): string {
  let out = typeof text === 'string' ? text : String(text);
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  // Tokens the SDKs build carry signatures; never let one through either.
  return out.replace(/(sig=)[^&\s;"']+/gi, '$1***').replace(/((?:SharedAccessKey|AccountKey)=)[^;\s"']+/gi, '$1***');
}

/**
 * Why an Azure adapter call failed, where the port has no error class of its own for it (a
 * port's own codes, such as `RuleStateConflict` or a `DeviceRegistryError`, are thrown as the
 * port's class). Every one is an infrastructure failure: the flows retry what they were doing
 * (a queue message is abandoned, a telemetry batch handed again), and a failed start stops it.
 */
export type AzureAdapterErrorCode =
  /**
   * The service refused the adapter's settings at start: a connection string it cannot parse, a
   * missing container, queue or hub, a credential without the rights it needs.
   */
  | 'Misconfigured'
  /**
   * A request to the service failed: the network, throttling or unavailability beyond the SDK's
   * own retries, or any other refusal. `sdkCode` keeps the SDK's code for it, when it gave one.
   */
  | 'RequestFailed'
  /** The service answered without what its protocol promises (a blob without an ETag, a feedback body that is no list of records). */
  | 'UnexpectedResponse'
  /** A rule state key that cannot name a blob (see the blob naming rules). */
  | 'InvalidKey'
  /** A stored rule state that is not JSON. */
  | 'UnreadableState'
  /** A message larger than the queue accepts (Service Bus's maximum message size). */
  | 'MessageTooLarge';

/**
 * An error of the Azure adapters that says what failed without any secret in it. `cause` is the
 * failure underneath as `scrubbedCause` copies it (its name, code and scrubbed message), never
 * the SDK's own object, which may carry a connection string or a signed URL.
 */
/**
 * The codes a retry cannot fix (`FieldlinkError.permanent`): the same message is as large, the
 * same key as unfit for a blob name, however often it is tried, so the queue dead-letters them at once.
 */
export const PERMANENT_AZURE_ADAPTER_ERROR_CODES: ReadonlySet<AzureAdapterErrorCode> = new Set<AzureAdapterErrorCode>(['MessageTooLarge', 'InvalidKey']);

export class AzureAdapterError extends FieldlinkError<AzureAdapterErrorCode> {
  /** The code the Azure SDK gave the failure underneath (`ServiceBusy`, `ContainerNotFound`, `ENOTFOUND`), when it gave one. */
  readonly sdkCode: string | undefined;

  constructor(code: AzureAdapterErrorCode, message: string, options: { readonly cause?: unknown; readonly sdkCode?: string } = {}) {
    super(code, message, { ...(options.cause === undefined ? {} : { cause: options.cause }), permanent: PERMANENT_AZURE_ADAPTER_ERROR_CODES.has(code) });
    this.name = 'AzureAdapterError';
    this.sdkCode = options.sdkCode;
  }
}

/** The code an SDK error carries (`code`, as the Azure SDKs and Node's errors set it), if any. */
export function sdkCodeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code !== undefined
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** A copy of `error` fit to be a `cause`: its name, its SDK code and its message, scrubbed of the secrets. */
export function scrubbedCause(error: unknown, secrets: readonly string[]): Error {
  const cause = new Error(redact(error instanceof Error ? error.message : String(error), secrets));
  cause.name = error instanceof Error ? error.name : 'Error';
  const code = sdkCodeOf(error);
  if (code !== undefined) Object.assign(cause, { code });
  return cause;
}

/** Wraps whatever an SDK threw, scrubbed of the connection string's secrets, with the failure as `cause`. */
export function scrubbed(what: string, error: unknown, secrets: readonly string[], code: AzureAdapterErrorCode = 'RequestFailed'): AzureAdapterError {
  const message = error instanceof Error ? error.message : String(error);
  const sdkCode = sdkCodeOf(error);
  return new AzureAdapterError(code, redact(`${what}: ${message}`, secrets), {
    cause: scrubbedCause(error, secrets),
    ...(sdkCode === undefined ? {} : { sdkCode }),
  });
}
