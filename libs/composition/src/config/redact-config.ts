import { redactUrlsIn } from './redact-url.js';
import { SECRET_PATHS, type FieldlinkConfig } from './fieldlink-config.js';

export const REDACTED = '[redacted]';

/** The configuration safe to print or log: every secret that is set shows as `[redacted]`, and so does the user info of every URL. */
export function redactConfig(config: FieldlinkConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const path of SECRET_PATHS) {
    const [section, key] = path.split('.') as [string, string];
    if (copy[section]?.[key] !== undefined) copy[section][key] = REDACTED;
  }
  return redactUrlsIn(copy);
}
