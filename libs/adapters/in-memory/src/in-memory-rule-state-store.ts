import type { RuleStateStorePort } from '@fieldlink/ports';

/**
 * Rule state kept in process as JSON, as a durable store would keep it: what is not JSON data (a
 * Map, a class instance, undefined members) is lost here exactly as it would be there. The text is
 * kept as UTF-8 bytes, outside the JavaScript heap, so the state held here costs the garbage
 * collector nothing to move. Give two stores the same `storage` to play a restart.
 *
 * A key saved again is written over the bytes this store kept for it, where the new text fits
 * (each buffer it makes has a quarter more room than its text): a partition's commits save the same
 * keys every time, and a buffer of its own per save, kept until its key's next save, is memory
 * outside the heap that V8 frees only at a full collection. V8 starts a full collection, marking
 * at a pace that holds up the main thread for tens of milliseconds, each time that memory has
 * grown 64 MB past what the last one left (`kExternalAllocationSoftLimit` in V8's
 * include/v8-internal.h): every 13 s at a commit a second of 10,000 devices, before this
 * (docs/performance.md, "Twentieth round"). So `storage` holds views: one read from it and kept
 * past its key's next save reads that save's bytes.
 */
export class InMemoryRuleStateStore implements RuleStateStorePort {
  /** The buffers this store made: written over only by it, never one that `storage` was given. */
  private readonly own = new WeakSet<ArrayBufferLike>();

  constructor(private readonly storage: Map<string, Uint8Array> = new Map()) {}

  async load(key: string): Promise<unknown> {
    const json = await this.loadJson(key);
    return json === undefined ? undefined : (JSON.parse(json) as unknown);
  }

  async loadJson(key: string): Promise<string | undefined> {
    const bytes = this.storage.get(key);
    return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(`The rule state under "${key}" is not JSON data.`);
    this.keep(key, text);
  }

  /** The text as it is: what `save` keeps for its parse. */
  async saveJson(key: string, json: string): Promise<void> {
    this.keep(key, json);
  }

  private keep(key: string, json: string): void {
    const size = Buffer.byteLength(json, 'utf8');
    const held = this.storage.get(key);
    let room: Buffer;
    if (held !== undefined && this.own.has(held.buffer) && held.buffer.byteLength >= size) room = Buffer.from(held.buffer);
    else {
      room = Buffer.allocUnsafeSlow(size + (size >> 2));
      this.own.add(room.buffer);
    }
    room.write(json, 0, 'utf8');
    this.storage.set(key, room.subarray(0, size));
  }
}
