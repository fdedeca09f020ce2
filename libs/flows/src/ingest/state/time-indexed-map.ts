// Flows 3–6 (ingest state): keys filed by the second of their time, for pruning.
const SECOND_MS = 1_000;
const secondOf = (time: number): number => Math.floor(time / SECOND_MS);

/**
 * A map from key to a time that also files each key under the second of its time, so the keys
 * whose time is at or before a limit are found by reading those seconds only, not every key.
 */
export class TimeIndexedMap<K> extends Map<K, number> {
  private readonly bySecond = new Map<number, Set<K>>();

  override set(key: K, time: number): this {
    const before = super.get(key);
    if (before !== undefined) this.unfile(key, before);
    super.set(key, time);
    const second = secondOf(time);
    const keys = this.bySecond.get(second);
    if (keys === undefined) this.bySecond.set(second, new Set([key]));
    else keys.add(key);
    return this;
  }

  override delete(key: K): boolean {
    const before = super.get(key);
    if (before === undefined) return super.delete(key);
    this.unfile(key, before);
    return super.delete(key);
  }

  override clear(): void {
    this.bySecond.clear();
    super.clear();
  }

  /** Every key whose time is at or before `limit` (and some a little after it, of the same second). */
  *keysUpTo(limit: number): Generator<K> {
    const last = secondOf(limit);
    for (const [second, keys] of this.bySecond) if (second <= last) yield* keys;
  }

  private unfile(key: K, time: number): void {
    const second = secondOf(time);
    const keys = this.bySecond.get(second);
    keys?.delete(key);
    if (keys?.size === 0) this.bySecond.delete(second);
  }
}
