import type { RuleStateStorePort } from '@fieldlink/ports';

/**
 * Rule state kept in process as JSON, as a durable store would keep it: what is not JSON data (a
 * Map, a class instance, undefined members) is lost here exactly as it would be there. The text is
 * kept as UTF-8 bytes, outside the JavaScript heap, so the state held here costs the garbage
 * collector nothing to move. Give two stores the same `storage` to play a restart.
 */
export class InMemoryRuleStateStore implements RuleStateStorePort {
  constructor(private readonly storage: Map<string, Uint8Array> = new Map()) {}

  async load(key: string): Promise<unknown> {
    const bytes = this.storage.get(key);
    return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown);
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(`The rule state under "${key}" is not JSON data.`);
    this.storage.set(key, Buffer.from(text, 'utf8'));
  }

  /** The text as it is: what `save` keeps for its parse. */
  async saveJson(key: string, json: string): Promise<void> {
    this.storage.set(key, Buffer.from(json, 'utf8'));
  }
}
