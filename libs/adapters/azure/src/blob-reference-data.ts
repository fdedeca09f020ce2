import type { ContainerClient } from '@azure/storage-blob';
import { describeIssues, parseCfsDeviceRules, type CfsThresholdRule } from '@fieldlink/domain';
import { silentLog, type LogPort, type ReferenceDataPort, type ReferenceLookup } from '@fieldlink/ports';
import { scrubbed, secretsOf } from './azure-auth.js';
import { blobService, type BlobAuth } from './blob-auth.js';

/** Blob storage: a connection string, or the account's blob URL and an Entra ID credential. */
export type { BlobAuth } from './blob-auth.js';

export interface BlobReferenceDataOptions {
  readonly auth: BlobAuth;
  readonly containerName: string;
  /**
   * Blob-name prefix of the rules snapshots: `devicerules/` gives CFS's
   * `devicerules/{yyyy-MM-dd}/{HH-mm}/devicerules.json`. A deployment whose container holds
   * `{date}/{time}/devicerules.json` directly uses `''`.
   */
  readonly rulesPrefix?: string;
  /** Blob-name prefix of device metadata snapshots, `{prefix}{yyyy-MM-dd}/{HH-mm}/devicemetadata.json`. */
  readonly metadataPrefix?: string;
  /** How often the snapshot list is read again; 0 turns refreshing off. */
  readonly refreshIntervalMs?: number;
  readonly log?: LogPort;
  /** The wall clock, for which metadata snapshot is in force. */
  readonly now?: () => number;
}

interface Snapshot<T> {
  readonly validFrom: number;
  readonly blobName: string;
  readonly etag: string;
  readonly value: T;
}

/** One entry of a device metadata snapshot (our convention; CFS keeps no such file). */
export interface DeviceMetadataEntry {
  readonly DeviceId: string;
  readonly DeviceType: string;
}

const SNAPSHOT_PATH = /^(\d{4})-(\d{2})-(\d{2})\/(\d{2})-(\d{2})\/([^/]+)$/;

/**
 * ReferenceDataPort on Blob storage with the CFS convention: dated snapshots of
 * `devicerules.json`; the newest whose time (UTC, from its path) has come is in force. The list
 * is read again every `refreshIntervalMs`; a snapshot that does not parse is logged and left
 * out, so a bad upload never replaces good rules.
 */
export class BlobReferenceData implements ReferenceDataPort {
  private readonly container: ContainerClient;
  private readonly secrets: string[];
  private readonly rulesPrefix: string;
  private readonly metadataPrefix: string;
  private readonly log: LogPort;
  private readonly now: () => number;
  private rules: Snapshot<readonly CfsThresholdRule[]>[] = [];
  private metadata: Snapshot<ReadonlyMap<string, string>>[] = [];
  private loaded: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BlobReferenceDataOptions) {
    this.secrets = 'connectionString' in options.auth ? secretsOf(options.auth.connectionString) : [];
    this.rulesPrefix = options.rulesPrefix ?? 'devicerules/';
    this.metadataPrefix = options.metadataPrefix ?? 'devicemetadata/';
    this.log = options.log ?? silentLog;
    this.now = options.now ?? Date.now;
    try {
      this.container = blobService(options.auth).getContainerClient(options.containerName);
    } catch (error) {
      throw scrubbed(`Blob reference data in container '${options.containerName}' is misconfigured`, error, this.secrets, 'Misconfigured');
    }
    const interval = options.refreshIntervalMs ?? 60_000;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.refresh().catch((error: unknown) => this.log.warn('reference-data.refresh-failed', { error: scrubbed('refresh', error, this.secrets).message }));
      }, interval);
      this.timer.unref();
    }
  }

  async deviceRules(at: number): Promise<readonly CfsThresholdRule[]> {
    await this.ensureLoaded();
    return inForce(this.rules, at)?.value ?? [];
  }

  async deviceTypeOf(deviceId: string): Promise<string | undefined> {
    await this.ensureLoaded();
    return inForce(this.metadata, this.now())?.value.get(deviceId);
  }

  /** A batch's devices and times at once: one wait for the snapshots, not one per device and time. */
  async lookUp(deviceIds: readonly string[], times: readonly number[]): Promise<ReferenceLookup> {
    await this.ensureLoaded();
    const metadata = inForce(this.metadata, this.now())?.value;
    return { deviceTypes: deviceIds.map((d) => metadata?.get(d)), rulesAt: times.map((t) => inForce(this.rules, t)?.value ?? []) };
  }

  /** Reads the snapshot list again, downloading only snapshots that are new or changed. */
  async refresh(): Promise<void> {
    try {
      const [rules, metadata] = await Promise.all([
        this.load(this.rulesPrefix, 'devicerules.json', this.rules, (json) => {
          const parsed = parseCfsDeviceRules(json);
          return parsed.ok ? parsed : { ok: false, error: describeIssues(parsed.error) };
        }),
        this.load(this.metadataPrefix, 'devicemetadata.json', this.metadata, parseDeviceMetadata),
      ]);
      this.rules = rules;
      this.metadata = metadata;
    } catch (error) {
      throw scrubbed(`Reading reference data from container '${this.options.containerName}' failed`, error, this.secrets);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensureLoaded(): Promise<void> {
    this.loaded ??= this.refresh().catch((error: unknown) => {
      this.loaded = undefined; // try again on the next call
      throw error;
    });
    return this.loaded;
  }

  private async load<T>(
    prefix: string,
    fileName: string,
    previous: readonly Snapshot<T>[],
    parse: (json: unknown) => { ok: true; value: T } | { ok: false; error: string },
  ): Promise<Snapshot<T>[]> {
    const known = new Map(previous.map((s) => [s.blobName, s]));
    const next: Snapshot<T>[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix })) {
      const match = SNAPSHOT_PATH.exec(blob.name.slice(prefix.length));
      if (!match || match[6] !== fileName) continue;
      const [, y, mo, d, h, mi] = match;
      const validFrom = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
      const etag = blob.properties.etag ?? '';
      const cached = known.get(blob.name);
      if (cached && cached.etag === etag) {
        next.push(cached);
        continue;
      }
      const text = (await this.container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch (error) {
        this.log.warn('reference-data.snapshot-rejected', { blob: blob.name, reason: `not JSON: ${(error as Error).message}` });
        continue;
      }
      const parsed = parse(json);
      if (!parsed.ok) {
        this.log.warn('reference-data.snapshot-rejected', { blob: blob.name, reason: parsed.error });
        continue;
      }
      next.push({ validFrom, blobName: blob.name, etag, value: parsed.value });
    }
    return next.sort((a, b) => a.validFrom - b.validFrom);
  }
}

function inForce<T>(snapshots: readonly Snapshot<T>[], at: number): Snapshot<T> | undefined {
  let current: Snapshot<T> | undefined;
  for (const s of snapshots) if (s.validFrom <= at) current = s;
  return current;
}

function parseDeviceMetadata(json: unknown): { ok: true; value: ReadonlyMap<string, string> } | { ok: false; error: string } {
  if (!Array.isArray(json)) return { ok: false, error: '(root): expected an array of {DeviceId, DeviceType}' };
  const map = new Map<string, string>();
  for (const [index, entry] of json.entries()) {
    const e = entry as Partial<DeviceMetadataEntry> | null;
    if (typeof e?.DeviceId !== 'string' || typeof e.DeviceType !== 'string')
      return { ok: false, error: `${index}: expected {DeviceId: string, DeviceType: string}` };
    map.set(e.DeviceId, e.DeviceType);
  }
  return { ok: true, value: map };
}

/** `devicerules/2026-11-28/09-00/devicerules.json` for a minute (UTC). */
export function snapshotBlobName(prefix: string, validFrom: number, fileName: string): string {
  const t = new Date(validFrom);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${prefix}${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}/${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}/${fileName}`;
}

/** The CFS `devicerules.json` document for a set of threshold rules: one entry per device type. */
export function formatCfsDeviceRules(rules: readonly CfsThresholdRule[]): Record<string, string | number | null>[] {
  const byType = new Map<string, Record<string, string | number | null>>();
  for (const rule of rules) {
    const entry = byType.get(rule.deviceType) ?? { DeviceType: rule.deviceType };
    entry[rule.readingType] = rule.threshold;
    entry[`${rule.readingType}RuleOutput`] = rule.ruleOutput;
    byType.set(rule.deviceType, entry);
  }
  return [...byType.values()];
}

/** Publishes a rules snapshot (and optionally device metadata) the way CFS lays them out. */
export async function publishReferenceData(
  container: ContainerClient,
  snapshot: { readonly validFrom: number; readonly rules?: readonly CfsThresholdRule[]; readonly deviceTypes?: Readonly<Record<string, string>> },
  prefixes: { readonly rulesPrefix?: string; readonly metadataPrefix?: string } = {},
): Promise<void> {
  const upload = async (name: string, document: unknown): Promise<void> => {
    const body = JSON.stringify(document);
    await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  };
  if (snapshot.rules)
    await upload(snapshotBlobName(prefixes.rulesPrefix ?? 'devicerules/', snapshot.validFrom, 'devicerules.json'), formatCfsDeviceRules(snapshot.rules));
  if (snapshot.deviceTypes) {
    const entries: DeviceMetadataEntry[] = Object.entries(snapshot.deviceTypes).map(([DeviceId, DeviceType]) => ({ DeviceId, DeviceType }));
    await upload(snapshotBlobName(prefixes.metadataPrefix ?? 'devicemetadata/', snapshot.validFrom, 'devicemetadata.json'), entries);
  }
}
