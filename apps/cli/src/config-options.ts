import { CONFIG_FILE_ENV, formatConfigIssues, loadConfig, type DeepPartial, type FieldlinkConfig, type FieldlinkConfigInput } from '@fieldlink/composition';

/** The configuration of one run: the command's defaults < `--config` (or FIELDLINK_CONFIG) < environment < command-line options. Exits with every issue on a bad one. */
export function configFromOptions(
  file: string | undefined,
  overrides: DeepPartial<FieldlinkConfigInput>,
  env: NodeJS.ProcessEnv = process.env,
  defaults?: DeepPartial<FieldlinkConfigInput>,
): FieldlinkConfig {
  const path = file ?? env[CONFIG_FILE_ENV];
  const loaded = loadConfig({ ...(path === undefined || path === '' ? {} : { file: path }), env, overrides, ...(defaults === undefined ? {} : { defaults }) });
  if (!loaded.ok) {
    process.stderr.write(`${formatConfigIssues(loaded.error)}\nNothing was started. See \`fieldlink --help\` and apps/cli/README.md for every setting.\n`);
    process.exit(2);
  }
  return loaded.value;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops the keys whose value is undefined (and sections left empty), so an option not given overrides nothing. */
export function definedOnly(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (isPlainObject(v)) {
      const inner = definedOnly(v);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else out[key] = v;
  }
  return out;
}
