import type { RuleStateStorePort } from '@fieldlink/ports';

/**
 * Rule state kept in process as JSON text, as a durable store would keep it: what is not JSON
 * data (a Map, a class instance, undefined members) is lost here exactly as it would be there.
 * Give two stores the same `storage` to play a restart.
 */
export class InMemoryRuleStateStore implements RuleStateStorePort {
  constructor(private readonly storage: Map<string, string> = new Map()) {}

  async load(key: string): Promise<unknown> {
    const text = this.storage.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async save(key: string, snapshot: unknown): Promise<void> {
    const text = JSON.stringify(snapshot);
    if (text === undefined) throw new TypeError(`The rule state under "${key}" is not JSON data.`);
    this.storage.set(key, text);
  }
}
