/**
 * Hides what must never be printed in an address: the user info of a URL (`https://user:pass@host`
 * → `https://[redacted]@host`), anywhere in a text. Every URL the configuration or a log line
 * shows passes through here.
 */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s@]+)@/gi;

export function redactUrl(url: string): string {
  return url.replace(USER_INFO, '$1[redacted]@');
}

/** The same rule over every string in a value (log fields, a configuration dump). */
export function redactUrlsIn<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactUrlsIn(v)) as T;
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUrlsIn(v)])) as T;
  return value;
}

/**
 * The host an Azure connection string points at (`Endpoint=sb://ns.servicebus.windows.net/`,
 * `HostName=hub.azure-devices.net`, `BlobEndpoint=…`), without its keys; undefined when it names none.
 */
export function endpointOfConnectionString(connectionString: string): string | undefined {
  const fields = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  const endpoint =
    fields.get('endpoint') ?? fields.get('blobendpoint') ?? (fields.get('hostname') === undefined ? undefined : `https://${fields.get('hostname')}`);
  if (endpoint !== undefined) return redactUrl(endpoint);
  const account = fields.get('accountname');
  return account === undefined ? undefined : `https://${account}.blob.${fields.get('endpointsuffix') ?? 'core.windows.net'}`;
}
