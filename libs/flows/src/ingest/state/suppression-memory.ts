// Flows 3–6 (ingest): the CFS suppression memory of the rule state, in typed arrays.
import { CFS_SUPPRESSION_MS, cfsSuppressionKey, type CfsSuppressionMemory } from '@fieldlink/domain';
import { flatCopy } from './flat-copy.js';
import { grownFloat64, grownInt32, NameCodes } from './typed-columns.js';

const NONE = -1;
const SECOND_MS = 1_000;
const secondOf = (time: number): number => Math.floor(time / SECOND_MS);

/** A journal entry's rule changes, as stored: keys (`cfsSuppressionKey`) set with their time, and keys removed. */
export interface SuppressionChanges {
  readonly set: Array<[string, number]>;
  readonly removed: string[];
}

/** Device, reading type and reading of a stored key; undefined when it is not one. */
export function parseSuppressionKey(key: string): { deviceId: string; readingType: string; reading: number } | undefined {
  const first = key.indexOf('\u0000');
  const last = key.lastIndexOf('\u0000');
  if (first < 0 || last === first) return undefined;
  const text = key.slice(last + 1);
  const reading = Number(text);
  if (text === '' || !Number.isFinite(reading)) return undefined;
  return { deviceId: key.slice(0, first), readingType: key.slice(first + 1, last), reading };
}

/** A memory's entries as they were when copied (`SuppressionMemory.entriesLater`), made into stored pairs a piece at a time. */
export class SuppressionEntries {
  private made = 0;

  constructor(
    private readonly count: number,
    private readonly devices: readonly string[],
    private readonly types: Int32Array,
    private readonly readings: Float64Array,
    private readonly times: Float64Array,
    private readonly readingTypes: readonly string[],
  ) {}

  /** True once every entry is in a piece made. */
  get done(): boolean {
    return this.made >= this.count;
  }

  /** The next up to `size` entries as `[key, time]` pairs (`cfsSuppressionKey`), in the order of `entries()`. */
  next(size: number): Array<[string, number]> {
    const end = Math.min(this.count, this.made + size);
    const piece: Array<[string, number]> = [];
    for (let i = this.made; i < end; i++)
      piece.push([cfsSuppressionKey(this.devices[i]!, this.readingTypes[this.types[i]!]!, this.readings[i]!), this.times[i]!]);
    this.made = end;
    return piece;
  }
}

/**
 * The CFS suppression memory of one partition (when each device last sent each reading over its
 * threshold), laid out for a million devices: one entry per key in typed arrays (reading type as a
 * small number, reading and time as doubles), a device's entries chained from one map entry per
 * device, and a time index of per-second chains through the same arrays, so `prune` visits only
 * the keys whose time has passed. No object, string or boxed number per key; about 40 bytes a key.
 *
 * It also tracks what changed since its changes were last taken (`unsaved`), for the journal.
 */
export class SuppressionMemory implements CfsSuppressionMemory {
  /** Each device's first entry; its entries are chained through `nextOfDevice`. */
  private readonly heads = new Map<string, number>();
  private readonly readingTypes = new NameCodes();
  /** Entries: the device (the string the map holds, not a copy), reading type, reading, time. */
  private deviceOf: string[] = [];
  private typeOf: Int32Array = new Int32Array(0);
  private readingOf: Float64Array = new Float64Array(0);
  private timeOf: Float64Array = new Float64Array(0);
  /** The next entry of the same device; for a free entry, the next free one. */
  private nextOfDevice: Int32Array = new Int32Array(0);
  /** The entries of one second of time, chained both ways so that one leaves its second at once. */
  private prevInSecond: Int32Array = new Int32Array(0);
  private nextInSecond: Int32Array = new Int32Array(0);
  private readonly secondHeads = new Map<number, number>();
  /** The save generation in which each live entry last changed; -1 for a free entry. */
  private changedIn: Int32Array = new Int32Array(0);
  private used = 0;
  private free = NONE;
  private live = 0;
  /** Changes since the last `unsaved`: entries set (may repeat), keys removed. */
  private generation = 0;
  private dirty: number[] = [];
  private removed = new Set<string>();
  /** Changes taken by `unsaved` and not yet `saved` (their commit is running, or failed). */
  private pending: SuppressionChanges | undefined;
  /** The newest time ever remembered: a reading read, so no reading still to come is older. */
  private newest = -Infinity;

  get size(): number {
    return this.live;
  }

  lastOver(deviceId: string, readingType: string, reading: number): number | undefined {
    const type = this.readingTypes.find(readingType);
    if (type === undefined) return undefined;
    const entry = this.find(deviceId, type, reading);
    return entry === NONE ? undefined : this.timeOf[entry];
  }

  rememberOver(deviceId: string, readingType: string, reading: number, time: number): void {
    const type = this.readingTypes.codeOf(readingType);
    let entry = this.find(deviceId, type, reading);
    if (entry === NONE) {
      entry = this.allocate();
      const head = this.heads.get(deviceId);
      this.deviceOf[entry] = head === undefined ? flatCopy(deviceId) : this.deviceOf[head]!;
      this.typeOf[entry] = type;
      this.readingOf[entry] = reading;
      this.nextOfDevice[entry] = head ?? NONE;
      this.heads.set(this.deviceOf[entry]!, entry);
      this.live++;
    } else {
      this.unfile(entry);
    }
    this.timeOf[entry] = time;
    if (time > this.newest) this.newest = time;
    this.file(entry);
    if (this.removed.size > 0) this.removed.delete(cfsSuppressionKey(deviceId, readingType, reading));
    if (this.changedIn[entry] !== this.generation) {
      this.changedIn[entry] = this.generation;
      this.dirty.push(entry);
    }
  }

  forget(deviceId: string, readingType: string, reading: number): void {
    const type = this.readingTypes.find(readingType);
    const entry = type === undefined ? NONE : this.find(deviceId, type, reading);
    if (entry !== NONE) this.remove(entry);
  }

  /** Forgets what can no longer suppress at `now` (as `CfsAlertQuery.prune`), reading only the seconds that passed. */
  prune(now: number): void {
    for (const entry of this.expiredBy(now)) this.remove(entry);
  }

  /** A reading over its threshold at `time` was read (its entry may be gone already): no reading still to come is older. */
  noteNewest(time: number): void {
    if (time > this.newest) this.newest = time;
  }

  /** The newest time this memory was told of (kept when its entry is forgotten); undefined before the first. */
  newestOver(): number | undefined {
    return this.newest === -Infinity ? undefined : this.newest;
  }

  /** The keys whose time is at least the suppression window before `now`, with their time. */
  *expired(now: number): Generator<{ deviceId: string; readingType: string; reading: number }> {
    for (const entry of this.expiredBy(now))
      yield { deviceId: this.deviceOf[entry]!, readingType: this.readingTypes.nameOf(this.typeOf[entry]!), reading: this.readingOf[entry]! };
  }

  /** Every key (`cfsSuppressionKey`) with its time. */
  *entries(): Generator<[string, number]> {
    for (const first of this.heads.values()) {
      for (let e = first; e !== NONE; e = this.nextOfDevice[e]!) yield [this.keyOf(e), this.timeOf[e]!];
    }
  }

  /**
   * `entries()` as they are now, for a checkpoint that stores them a piece at a time: the live
   * entries are copied at once into arrays (about 28 bytes a key, the device ids being the strings
   * this memory holds), and each piece's `[key, time]` pairs (110 to 160 bytes a key with its
   * string) are made only when it is asked for (docs/performance.md, "Fifteenth round").
   */
  entriesLater(): SuppressionEntries {
    const devices = new Array<string>(this.live);
    const types = new Int32Array(this.live);
    const readings = new Float64Array(this.live);
    const times = new Float64Array(this.live);
    let count = 0;
    for (const first of this.heads.values()) {
      for (let e = first; e !== NONE; e = this.nextOfDevice[e]!) {
        devices[count] = this.deviceOf[e]!;
        types[count] = this.typeOf[e]!;
        readings[count] = this.readingOf[e]!;
        times[count] = this.timeOf[e]!;
        count++;
      }
    }
    return new SuppressionEntries(count, devices, types, readings, times, this.readingTypes.all());
  }

  /** What changed since the changes were last taken and saved, as JSON data; taken again until `saved`. */
  unsaved(): SuppressionChanges {
    const latest = new Map<string, number | null>();
    for (const [key, at] of this.pending?.set ?? []) latest.set(key, at);
    for (const key of this.pending?.removed ?? []) latest.set(key, null);
    for (const entry of this.dirty) if (this.changedIn[entry] === this.generation) latest.set(this.keyOf(entry), this.timeOf[entry]!);
    for (const key of this.removed) latest.set(key, null);
    const set: Array<[string, number]> = [];
    const removed: string[] = [];
    for (const [key, at] of latest) {
      if (at === null) removed.push(key);
      else set.push([key, at]);
    }
    this.pending = { set, removed };
    this.generation++;
    this.dirty = [];
    this.removed = new Set();
    return this.pending;
  }

  /** What this holds now counts as saved (it was just restored from the store). */
  takenAsSaved(): void {
    this.pending = undefined;
    this.dirty = [];
    this.removed = new Set();
    this.generation++;
  }

  /** The changes `unsaved` gave are stored: what changed after they were taken stays unsaved. */
  saved(stored: unknown): void {
    if (stored === this.pending) this.pending = undefined;
  }

  private find(deviceId: string, type: number, reading: number): number {
    for (let e = this.heads.get(deviceId) ?? NONE; e !== NONE; e = this.nextOfDevice[e]!) {
      if (this.typeOf[e] === type && this.readingOf[e] === reading) return e;
    }
    return NONE;
  }

  private *expiredBy(now: number): Generator<number> {
    const last = secondOf(now - CFS_SUPPRESSION_MS);
    const entries: number[] = [];
    for (const [second, first] of this.secondHeads) {
      if (second > last) continue;
      for (let e = first; e !== NONE; e = this.nextInSecond[e]!) if (now - this.timeOf[e]! >= CFS_SUPPRESSION_MS) entries.push(e);
    }
    yield* entries;
  }

  private keyOf(entry: number): string {
    return cfsSuppressionKey(this.deviceOf[entry]!, this.readingTypes.nameOf(this.typeOf[entry]!), this.readingOf[entry]!);
  }

  private remove(entry: number): void {
    this.unfile(entry);
    const deviceId = this.deviceOf[entry]!;
    const next = this.nextOfDevice[entry]!;
    const head = this.heads.get(deviceId)!;
    if (head === entry) {
      if (next === NONE) this.heads.delete(deviceId);
      else this.heads.set(deviceId, next);
    } else {
      let before = head;
      while (this.nextOfDevice[before] !== entry) before = this.nextOfDevice[before]!;
      this.nextOfDevice[before] = next;
    }
    this.removed.add(this.keyOf(entry));
    this.deviceOf[entry] = '';
    this.changedIn[entry] = NONE;
    this.nextOfDevice[entry] = this.free;
    this.free = entry;
    this.live--;
  }

  private allocate(): number {
    if (this.free !== NONE) {
      const entry = this.free;
      this.free = this.nextOfDevice[entry]!;
      return entry;
    }
    if (this.used === this.typeOf.length) this.grow(Math.max(16, this.used * 2));
    return this.used++;
  }

  private grow(capacity: number): void {
    this.typeOf = grownInt32(this.typeOf, capacity);
    this.readingOf = grownFloat64(this.readingOf, capacity);
    this.timeOf = grownFloat64(this.timeOf, capacity);
    this.nextOfDevice = grownInt32(this.nextOfDevice, capacity);
    this.prevInSecond = grownInt32(this.prevInSecond, capacity);
    this.nextInSecond = grownInt32(this.nextInSecond, capacity);
    this.changedIn = grownInt32(this.changedIn, capacity).fill(NONE, this.used);
  }

  /** Files the entry under the second of its time. */
  private file(entry: number): void {
    const second = secondOf(this.timeOf[entry]!);
    const first = this.secondHeads.get(second) ?? NONE;
    this.prevInSecond[entry] = NONE;
    this.nextInSecond[entry] = first;
    if (first !== NONE) this.prevInSecond[first] = entry;
    this.secondHeads.set(second, entry);
  }

  private unfile(entry: number): void {
    const prev = this.prevInSecond[entry]!;
    const next = this.nextInSecond[entry]!;
    if (next !== NONE) this.prevInSecond[next] = prev;
    if (prev !== NONE) this.nextInSecond[prev] = next;
    else {
      const second = secondOf(this.timeOf[entry]!);
      if (next === NONE) this.secondHeads.delete(second);
      else this.secondHeads.set(second, next);
    }
  }
}

/**
 * One batch's changes over a partition's `SuppressionMemory`: reads see the batch's changes
 * first, writes go to the changes only, and the memory changes at `commit` alone; a batch that
 * fails is dropped. Costs what the batch touches (its keys over the threshold), not the memory's size.
 */
export class SuppressionView implements CfsSuppressionMemory {
  /** Keys the batch set (time) or forgot (null), in the order first changed. */
  private readonly changed = new Map<string, { readonly deviceId: string; readonly readingType: string; readonly reading: number; time: number | null }>();

  /** The newest time the batch remembered. */
  private newest = -Infinity;

  constructor(readonly committed: SuppressionMemory) {}

  /** As `SuppressionMemory.newestOver`, with the batch's changes. */
  newestOver(): number | undefined {
    const newest = Math.max(this.committed.newestOver() ?? -Infinity, this.newest);
    return newest === -Infinity ? undefined : newest;
  }

  lastOver(deviceId: string, readingType: string, reading: number): number | undefined {
    if (this.changed.size === 0) return this.committed.lastOver(deviceId, readingType, reading);
    const change = this.changed.get(cfsSuppressionKey(deviceId, readingType, reading));
    return change === undefined ? this.committed.lastOver(deviceId, readingType, reading) : (change.time ?? undefined);
  }

  rememberOver(deviceId: string, readingType: string, reading: number, time: number): void {
    this.change(deviceId, readingType, reading, time);
  }

  /** As `SuppressionMemory.prune`, into the batch's changes. */
  prune(now: number): void {
    const forget: Array<{ deviceId: string; readingType: string; reading: number }> = [];
    for (const key of this.committed.expired(now)) if (!this.changed.has(cfsSuppressionKey(key.deviceId, key.readingType, key.reading))) forget.push(key);
    for (const change of this.changed.values()) if (change.time !== null && now - change.time >= CFS_SUPPRESSION_MS) forget.push(change);
    for (const key of forget) this.change(key.deviceId, key.readingType, key.reading, null);
  }

  /** Every key with its time, as the memory will hold them once committed. */
  *entries(): Generator<[string, number]> {
    for (const entry of this.committed.entries()) if (!this.changed.has(entry[0])) yield entry;
    for (const [key, change] of this.changed) if (change.time !== null) yield [key, change.time];
  }

  /** Writes the batch's changes into the memory; the view starts empty again. */
  commit(): void {
    for (const change of this.changed.values()) {
      if (change.time === null) this.committed.forget(change.deviceId, change.readingType, change.reading);
      else this.committed.rememberOver(change.deviceId, change.readingType, change.reading, change.time);
    }
    if (this.newest !== -Infinity) this.committed.noteNewest(this.newest);
    this.changed.clear();
    this.newest = -Infinity;
  }

  private change(deviceId: string, readingType: string, reading: number, time: number | null): void {
    if (time !== null && time > this.newest) this.newest = time;
    const key = cfsSuppressionKey(deviceId, readingType, reading);
    const change = this.changed.get(key);
    if (change === undefined) this.changed.set(key, { deviceId, readingType, reading, time });
    else change.time = time;
  }
}
