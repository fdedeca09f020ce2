import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { err, ok, type Result } from '@fieldlink/domain';
import { parse as parseYaml } from 'yaml';
import { CONFIG_FILE_ENV, envNameOf, SETTINGS } from './config-settings.js';
import { redactUrl } from './redact-url.js';
import {
  fieldlinkConfigSchema,
  PORT_NAMES,
  PROFILE_PORTS,
  SECRET_PATHS,
  type AdapterName,
  type FieldlinkConfig,
  type FieldlinkConfigInput,
  type PortName,
} from './fieldlink-config.js';

/** One thing wrong with the configuration: the setting's path, what was expected, and where the value came from. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** `file <name>`, `env <VARIABLE>`, `option`, or absent for a missing setting. */
  readonly source?: string;
}

export interface ConfigSources {
  /** A JSON or YAML file (by extension: .json, .yaml, .yml). */
  readonly file?: string;
  /** The environment (process.env); it overrides the file. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line options; they override the environment. */
  readonly overrides?: DeepPartial<FieldlinkConfigInput>;
  /** Defaults of the command (e.g. `fieldlink up`'s durable profile), below the file. */
  readonly defaults?: DeepPartial<FieldlinkConfigInput>;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Settings that name a file. */
const FILE_PATHS = ['rules.file', 'deviceTypes.file', 'automation.file'] as const;

/**
 * Reads, merges (file < environment < options) and validates the configuration. Every issue is
 * reported together: a secret in the file, an unknown FIELDLINK_* variable and a wrong value do
 * not hide one another.
 */
export function loadConfig(sources: ConfigSources = {}): Result<FieldlinkConfig, ConfigIssue[]> {
  const origin = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  let document: Json = {};
  if (sources.defaults !== undefined)
    for (const path of leafPaths(sources.defaults as Json)) document = setPath(document, path, getPath(sources.defaults as Json, path));
  let fileUnreadable = false;
  if (sources.file !== undefined) {
    const read = readConfigFile(sources.file);
    if (!read.ok) {
      issues.push(...read.error);
      fileUnreadable = true;
    } else {
      let fromFile = read.value;
      // A file named in the configuration file is relative to that file, wherever the command runs.
      for (const path of FILE_PATHS) {
        const named = getPath(fromFile, path);
        if (typeof named === 'string' && named !== '' && !isAbsolute(named)) fromFile = setPath(fromFile, path, resolve(dirname(sources.file), named));
      }
      for (const path of SECRET_PATHS) {
        if (getPath(fromFile, path) === undefined) continue;
        issues.push({
          path,
          message: `is a secret and is read from the environment only: remove it from the file and set ${envNameOf(path)}`,
          source: `file ${basename(sources.file)}`,
        });
        fromFile = deletePath(fromFile, path);
      }
      // Over the command's defaults, setting by setting.
      for (const path of leafPaths(fromFile)) {
        document = setPath(document, path, getPath(fromFile, path));
        origin.set(path, `file ${basename(sources.file)}`);
      }
    }
  }
  issues.push(...unknownVariables(sources.env ?? {}));
  for (const setting of SETTINGS) {
    const raw = sources.env?.[envNameOf(setting.path)];
    if (raw === undefined || raw === '') continue;
    const value =
      setting.kind === 'number' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)
        ? Number(raw)
        : setting.kind === 'boolean' && /^\s*(true|false)\s*$/i.test(raw)
          ? raw.trim().toLowerCase() === 'true'
          : raw;
    document = setPath(document, setting.path, value);
    origin.set(setting.path, `env ${envNameOf(setting.path)}`);
  }
  if (sources.overrides !== undefined) {
    for (const path of leafPaths(sources.overrides as Json)) {
      document = setPath(document, path, getPath(sources.overrides as Json, path));
      origin.set(path, 'option');
    }
  }
  // Without the file, what the rest lacks would only be noise.
  if (fileUnreadable) return err(issues);
  const parsed = parseConfig(document, origin);
  if (issues.length === 0) return parsed;
  return err([...issues, ...(parsed.ok ? [] : parsed.error)]);
}

/** FIELDLINK_* variables that are not settings but are read by name elsewhere (tokens of the pages, test set-ups). */
const OTHER_VARIABLES = new Set([CONFIG_FILE_ENV, 'FIELDLINK_CONSOLE_TOKEN', 'FIELDLINK_SIMULATOR_TOKEN', 'FIELDLINK_CHROMIUM', 'FIELDLINK_STANDIN_TLS_DIR']);
/** Credentials of the live Azure tests. */
const OTHER_PREFIXES = ['FIELDLINK_LIVE_'];

/** A FIELDLINK_* variable that names no setting is refused as an unknown key in a file is, with the closest name. */
function unknownVariables(env: Readonly<Record<string, string | undefined>>): ConfigIssue[] {
  const known = new Map(SETTINGS.map((s) => [envNameOf(s.path), s.path]));
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith('FIELDLINK_') &&
        env[name] !== undefined &&
        env[name] !== '' &&
        !known.has(name) &&
        !OTHER_VARIABLES.has(name) &&
        !OTHER_PREFIXES.some((p) => name.startsWith(p)),
    )
    .sort()
    .map((name) => {
      const close = closest(name, [...known.keys()]);
      return {
        path: name,
        source: 'env',
        message: `is not a setting${close === undefined ? '' : ` (did you mean ${close}, the variable of ${known.get(close)}?)`}`,
      };
    });
}

/** Validates a configuration document (already merged); `origin` tells where each value came from. */
export function parseConfig(document: unknown, origin: ReadonlyMap<string, string> = new Map()): Result<FieldlinkConfig, ConfigIssue[]> {
  const withSource = (path: string, message: string): ConfigIssue => {
    const source = origin.get(path) ?? (SETTINGS.some((s) => s.path === path) ? undefined : [...origin].find(([p]) => path.startsWith(`${p}.`))?.[1]);
    return { path, message, ...(source === undefined ? {} : { source }) };
  };
  const parsed = fieldlinkConfigSchema.safeParse(document);
  if (!parsed.success) {
    return err(
      parsed.error.issues.flatMap((i) => {
        const at = i.path.map(String);
        // An unknown key is reported at its own path, so the misspelt setting is named.
        if (i.code === 'unrecognized_keys') return i.keys.map((k) => withSource([...at, k].join('.'), `is not a setting${suggest([...at, k].join('.'))}`));
        const path = at.length === 0 ? '(root)' : at.join('.');
        return [withSource(path, i.message)];
      }),
    );
  }
  const { ports: chosen, ...rest } = parsed.data;
  const profilePorts = PROFILE_PORTS[rest.profile];
  const ports = Object.fromEntries(PORT_NAMES.map((p) => [p, chosen[p] ?? profilePorts[p]])) as { [P in PortName]: AdapterName<P> };
  const embedded = rest.dataverse.embedded ?? (rest.dataverse.url === undefined && (rest.profile === 'embedded' || rest.profile === 'durable'));
  // A Dataverse organisation enriches its alerts itself (CFS's plug-ins); the in-memory CRM and the emulator in process are enriched here.
  const enrichment = rest.alerts.enrichment ?? (ports.crm === 'dataverse' ? 'organisation' : 'orchestrator');
  const config: FieldlinkConfig = { ...rest, ports, dataverse: { ...rest.dataverse, embedded }, alerts: { enrichment } };
  const issues = requiredSettings(config).map(({ path, message }) => withSource(path, message));
  if (config.simulator.drifting > config.simulator.devices)
    issues.push(withSource('simulator.drifting', `expected at most simulator.devices (${config.simulator.devices})`));
  return issues.length > 0 ? err(issues) : ok(config);
}

/** The settings an adapter cannot start without, once the ports are chosen. */
function requiredSettings(config: FieldlinkConfig): Array<{ path: string; message: string }> {
  const issues: Array<{ path: string; message: string }> = [];
  const using = (adapter: string): PortName[] => PORT_NAMES.filter((p) => config.ports[p] === adapter);
  const need = (path: string, value: unknown, adapter: string, extra?: string): void => {
    const ports = using(adapter);
    if (ports.length === 0 || value !== undefined) return;
    const because = ports.map((p) => `ports.${p}`).join(', ');
    issues.push({
      path,
      message: `is required because ${because} ${ports.length === 1 ? 'is' : 'are'} "${adapter}"${extra === undefined ? '' : ` (${extra})`}: set ${envNameOf(path)}`,
    });
  };
  need('serviceBus.connectionString', config.serviceBus.connectionString, 'service-bus');
  need('eventHubs.connectionString', config.eventHubs.connectionString, 'event-hubs');
  need('iotHub.connectionString', config.iotHub.connectionString, 'iot-hub');
  need('blob.connectionString', config.blob.connectionString, 'blob');
  need('storage.postgresConnectionString', config.storage.postgresConnectionString, 'postgres');
  need('storage.azureSqlConnectionString', config.storage.azureSqlConnectionString, 'azure-sql');
  if (config.ports.telemetry === 'event-hubs' && config.blob.connectionString === undefined && using('blob').length === 0) {
    issues.push({
      path: 'blob.connectionString',
      message: `is required because ports.telemetry is "event-hubs" (its checkpoints live in blob storage): set ${envNameOf('blob.connectionString')}`,
    });
  }
  if (config.dataverse.embedded && config.dataverse.url !== undefined) {
    issues.push({
      path: 'dataverse.embedded',
      message: `cannot be true with dataverse.url set: the CRM is either the emulator in this process or the organisation at ${config.dataverse.url}`,
    });
  }
  if (!config.dataverse.embedded && config.dataverse.url === undefined && using('dataverse').length > 0) {
    issues.push({
      path: 'dataverse.url',
      message: `is required because ports.crm is "dataverse" and the emulator does not run in this process: set ${envNameOf('dataverse.url')}, or ${envNameOf('dataverse.embedded')}=true for the emulator`,
    });
  }
  const credentials = (['tenantId', 'clientId', 'clientSecret'] as const).filter((k) => config.dataverse[k] !== undefined);
  if (credentials.length > 0 && credentials.length < 3) {
    for (const k of ['tenantId', 'clientId', 'clientSecret'] as const) {
      if (config.dataverse[k] === undefined)
        issues.push({
          path: `dataverse.${k}`,
          message: `is required with ${credentials.map((c) => `dataverse.${c}`).join(' and ')} (a client-secret credential needs tenant, client id and secret): set ${envNameOf(`dataverse.${k}`)}`,
        });
    }
  }
  return issues;
}

function suggest(path: string): string {
  const close = closest(
    path,
    SETTINGS.map((s) => s.path),
  );
  return close === undefined ? '' : ` (did you mean ${close}?)`;
}

/** The known name nearest to a misspelt one, if it is near enough to be what was meant. */
function closest(name: string, known: readonly string[]): string | undefined {
  const same = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (same !== undefined) return same;
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(k, name);
    if (best === undefined || d < best.d) best = { name: k, d };
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function readConfigFile(file: string): Result<Json, ConfigIssue[]> {
  const source = `file ${basename(file)}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return err([{ path: '(file)', message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, source }]);
  }
  let document: unknown;
  const yaml = ['.yaml', '.yml'].includes(extname(file).toLowerCase());
  try {
    document = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    return err([{ path: '(file)', message: `is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}`, source }]);
  }
  if (document === null || document === undefined) return ok({});
  if (!isRecord(document)) return err([{ path: '(root)', message: 'expected an object of settings', source }]);
  return ok(document);
}

function getPath(document: Json, path: string): unknown {
  let node: unknown = document;
  for (const key of path.split('.')) {
    if (!isRecord(node)) return undefined;
    node = node[key];
  }
  return node;
}

function setPath(document: Json, path: string, value: unknown): Json {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...document, [head!]: value };
  const child = document[head!];
  return { ...document, [head!]: setPath(isRecord(child) ? child : {}, rest.join('.'), value) };
}

function deletePath(document: Json, path: string): Json {
  const [head, ...rest] = path.split('.');
  if (!(head! in document)) return document;
  const { [head!]: child, ...others } = document;
  if (rest.length === 0) return others;
  return isRecord(child) ? { ...others, [head!]: deletePath(child, rest.join('.')) } : document;
}

function leafPaths(document: Json, prefix = ''): string[] {
  return Object.entries(document).flatMap(([key, value]) =>
    isRecord(value) ? leafPaths(value, `${prefix}${key}.`) : value === undefined ? [] : [`${prefix}${key}`],
  );
}

/** `configuration: <path> (<source>): <what was expected>`, one line each. */
export const formatConfigIssues = (issues: readonly ConfigIssue[]): string =>
  issues.map((i) => redactUrl(`configuration: ${i.path}${i.source === undefined ? '' : ` (${i.source})`}: ${i.message}`)).join('\n');
