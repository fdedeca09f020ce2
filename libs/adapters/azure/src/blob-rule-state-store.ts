import { RestError, type ContainerClient } from '@azure/storage-blob';
import { RuleStateError, type RuleStateStorePort } from '@fieldlink/ports';
import { AzureAdapterError, scrubbed, secretsOf } from './azure-auth.js';
import { blobService, type BlobAuth } from './blob-auth.js';

export interface BlobRuleStateStoreOptions {
  readonly auth: BlobAuth;
  readonly containerName: string;
  /** Blob-name prefix of the snapshots: key `k` is the blob `{prefix}k.json`. */
  readonly prefix?: string;
  /** Creates the container on first use when it does not exist (needs the right to create containers). */
  readonly createContainer?: boolean;
}

/** What a store knows of a blob it read or wrote: its ETag, or that it was not there. */
type KnownVersion = { readonly etag: string } | 'absent';

const MAX_BLOB_NAME = 1024;

/**
 * RuleStateStorePort on Blob storage: one JSON blob per key, `{prefix}{key}.json`, so the keys'
 * `/` become the container's folders (`rule-state/ingest/0/journal/3.json`).
 *
 * Writes are conditional on what this store last read or wrote under the key (If-Match its ETag,
 * or If-None-Match `*` when it found nothing): a second instance that took the partition over and
 * wrote since is not overwritten with older state; the save fails with code `RuleStateConflict`
 * until the key is loaded again. A key this store never read is written unconditionally, which
 * keeps "save replaces" for a store that only writes.
 */
export class BlobRuleStateStore implements RuleStateStorePort {
  private readonly container: ContainerClient;
  private readonly secrets: string[];
  private readonly prefix: string;
  private readonly known = new Map<string, KnownVersion>();
  private ready: Promise<void> | undefined;

  constructor(private readonly options: BlobRuleStateStoreOptions) {
    this.secrets = 'connectionString' in options.auth ? secretsOf(options.auth.connectionString) : [];
    this.prefix = options.prefix ?? 'rule-state/';
    try {
      this.container = blobService(options.auth).getContainerClient(options.containerName);
    } catch (error) {
      throw scrubbed(`Rule state in container '${options.containerName}' is misconfigured`, error, this.secrets, 'Misconfigured');
    }
  }

  /** The blob a key is kept in. */
  blobNameOf(key: string): string {
    const problem = keyProblem(key);
    if (problem !== undefined) throw new AzureAdapterError('InvalidKey', `Rule state key ${JSON.stringify(key)} cannot name a blob: ${problem}.`);
    const name = `${this.prefix}${key}.json`;
    if (name.length > MAX_BLOB_NAME)
      throw new AzureAdapterError('InvalidKey', `Rule state key of ${key.length} characters makes a blob name longer than ${MAX_BLOB_NAME}.`);
    return name;
  }

  async load(key: string): Promise<unknown> {
    const text = await this.loadJson(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new AzureAdapterError('UnreadableState', `Rule state '${key}' in blob '${this.blobNameOf(key)}' is not JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The blob's text as it is, read as `load` reads it (its ETag is the one a save is then conditioned on). */
  async loadJson(key: string): Promise<string | undefined> {
    const blobName = this.blobNameOf(key);
    await this.containerReady();
    try {
      const current = await this.download(blobName);
      this.known.set(key, { etag: current.etag });
      return current.text;
    } catch (error) {
      if (isStatus(error, 404)) {
        this.known.set(key, 'absent');
        return undefined;
      }
      if (error instanceof AzureAdapterError) throw error;
      throw scrubbed(`Loading rule state '${key}' from blob '${blobName}' in container '${this.options.containerName}' failed`, error, this.secrets);
    }
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    this.blobNameOf(key);
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(`The rule state under "${key}" is not JSON data.`);
    return this.saveJson(key, text);
  }

  /**
   * The JSON text as it is, as the blob's body (what `save` uploads for its parse), under the same
   * condition: ingest on worker threads serialises its state there, and the main thread passes the
   * text on with no parse and no second serialisation.
   */
  async saveJson(key: string, json: string): Promise<void> {
    const blobName = this.blobNameOf(key);
    await this.containerReady();
    const blob = this.container.getBlockBlobClient(blobName);
    const known = this.known.get(key);
    const conditions = known === undefined ? undefined : known === 'absent' ? { ifNoneMatch: '*' } : { ifMatch: known.etag };
    const body = Buffer.from(json, 'utf8');
    try {
      const response = await blob.upload(body, body.byteLength, {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        ...(conditions ? { conditions } : {}),
      });
      if (response.etag !== undefined) this.known.set(key, { etag: response.etag });
      else this.known.delete(key);
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 409)) {
        // A retried upload whose first attempt went through meets its own write: that is no conflict.
        const current = await this.readCurrent(blobName);
        if (current !== undefined && current.text === json) {
          this.known.set(key, { etag: current.etag });
          return;
        }
        throw RuleStateError.conflict(key, `blob '${blobName}'`);
      }
      throw scrubbed(`Saving rule state '${key}' to blob '${blobName}' in container '${this.options.containerName}' failed`, error, this.secrets);
    }
  }

  /** The blob's text and the ETag of that very version (one GET, so the two cannot disagree). */
  private async download(blobName: string): Promise<{ text: string; etag: string }> {
    const response = await this.container.getBlobClient(blobName).download();
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    if (response.etag === undefined) throw new AzureAdapterError('UnexpectedResponse', `Blob '${blobName}' came without an ETag.`);
    return { text: Buffer.concat(chunks).toString('utf8'), etag: response.etag };
  }

  private async readCurrent(blobName: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      return await this.download(blobName);
    } catch {
      return undefined;
    }
  }

  private containerReady(): Promise<void> {
    if (this.options.createContainer === false) return Promise.resolve();
    this.ready ??= this.container.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw scrubbed(`Creating the rule state container '${this.options.containerName}' failed`, error, this.secrets);
      },
    );
    return this.ready;
  }
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError
    ? error.statusCode === status
    : typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === status;
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is empty';
  if (key.startsWith('/') || key.endsWith('/') || key.includes('//')) return 'it has an empty path segment';
  if (key.includes('\\')) return 'it holds a backslash, which Blob storage turns into a slash';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'it holds a control character';
  return undefined;
}
