import { createHmac, timingSafeEqual } from 'node:crypto';

/** A shared access key the stand-in accepts, as an Azure namespace or hub policy holds it. */
export interface SharedAccessPolicy {
  readonly keyName: string;
  readonly key: string;
}

export type SignatureCheck = { readonly ok: true; readonly audience: string; readonly keyName: string } | { readonly ok: false; readonly reason: string };

/**
 * Checks a `SharedAccessSignature sr=..&sig=..&se=..&skn=..` token the way Service Bus, Event
 * Hubs and IoT Hub do: the signature is HMAC-SHA256 over `encodeURIComponent(sr) + "\n" + se`
 * with the policy's key, and the token must not have expired.
 *
 * `keyEncoding` is how the key string becomes HMAC key bytes: Service Bus and Event Hubs use the
 * key text as UTF-8, IoT Hub decodes it from base64.
 */
export function checkSharedAccessSignature(
  token: string,
  policies: readonly SharedAccessPolicy[],
  nowMs: number,
  keyEncoding: 'utf8' | 'base64' = 'utf8',
): SignatureCheck {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return { ok: false, reason: 'not a shared access signature' };
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined) return { ok: false, reason: 'token lacks sr, sig or se' };
  if (Number(se) * 1000 < nowMs) return { ok: false, reason: 'token expired' };
  // Device tokens (IoT Hub) carry no skn: they are signed with the device's own key.
  const candidates = skn === undefined ? policies : policies.filter((p) => p.keyName === decodeURIComponent(skn));
  const given = Buffer.from(decodeURIComponent(sig), 'base64');
  // sr is already URL-encoded in the token; the string signed is that encoded form.
  const signed = `${sr}\n${se}`;
  for (const policy of candidates) {
    const expected = createHmac('sha256', Buffer.from(policy.key, keyEncoding)).update(signed).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      return { ok: true, audience: decodeURIComponent(sr), keyName: policy.keyName };
    }
  }
  return { ok: false, reason: 'signature does not match any key' };
}

/** Makes a token as the SDKs do, for tests and for stand-ins that call each other. */
export function makeSharedAccessSignature(
  audience: string,
  policy: SharedAccessPolicy,
  expiresAtSeconds: number,
  keyEncoding: 'utf8' | 'base64' = 'utf8',
): string {
  const sr = encodeURIComponent(audience);
  const sig = createHmac('sha256', Buffer.from(policy.key, keyEncoding)).update(`${sr}\n${expiresAtSeconds}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiresAtSeconds}&skn=${encodeURIComponent(policy.keyName)}`;
}

/** The path of an audience URL (`sb://host:port/queue` → `queue`), lower-cased as the services compare it. */
export function audiencePath(audience: string): string {
  const withoutScheme = audience.replace(/^[a-z]+:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  return (slash < 0 ? '' : withoutScheme.slice(slash + 1)).replace(/\/+$/, '').toLowerCase();
}
