// Flows 3–6 (ingest state): a map with an uncommitted layer over a committed one.
const REMOVED: unique symbol = Symbol('removed');

/**
 * One batch's changes over a committed map. Reads see the batch's changes first; writes go to the
 * changes only; the committed map changes on `commit()` alone. Beginning one costs nothing and a
 * batch costs what it touches, not the size of the state; a batch that fails is simply dropped.
 * Values are replaced, never changed in place: a value read from the committed map is shared.
 */
export class LayeredMap<K, V> implements Map<K, V> {
  private readonly changed = new Map<K, V | typeof REMOVED>();

  constructor(readonly committed: Map<K, V>) {}

  get [Symbol.toStringTag](): string {
    return 'LayeredMap';
  }

  get size(): number {
    let size = this.committed.size;
    for (const [key, value] of this.changed) {
      const before = this.committed.has(key);
      if (value === REMOVED && before) size--;
      else if (value !== REMOVED && !before) size++;
    }
    return size;
  }

  get(key: K): V | undefined {
    if (!this.changed.has(key)) return this.committed.get(key);
    const value = this.changed.get(key);
    return value === REMOVED ? undefined : value;
  }

  has(key: K): boolean {
    return this.changed.has(key) ? this.changed.get(key) !== REMOVED : this.committed.has(key);
  }

  set(key: K, value: V): this {
    this.changed.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const had = this.has(key);
    if (this.committed.has(key)) this.changed.set(key, REMOVED);
    else this.changed.delete(key);
    return had;
  }

  clear(): void {
    this.changed.clear();
    for (const key of this.committed.keys()) this.changed.set(key, REMOVED);
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[K, V]> {
    for (const entry of this.committed) if (!this.changed.has(entry[0])) yield entry;
    for (const [key, value] of this.changed) if (value !== REMOVED) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** The keys this batch set (with their values) or removed, in the order first changed. */
  *changes(): Generator<{ readonly key: K; readonly removed: false; readonly value: V } | { readonly key: K; readonly removed: true }> {
    for (const [key, value] of this.changed) yield value === REMOVED ? { key, removed: true } : { key, removed: false, value };
  }

  /** Writes the changes into the committed map; this layer starts empty again. */
  commit(): void {
    for (const [key, value] of this.changed) {
      if (value === REMOVED) this.committed.delete(key);
      else this.committed.set(key, value);
    }
    this.changed.clear();
  }
}
