// Flows 3–6 (ingest): what the main thread and an ingest worker thread say to each other.
import type { CfsThresholdRule } from '@fieldlink/domain';
import {
  lookUpEach,
  QueueError,
  RuleStateError,
  type DeviceHealth,
  type MinuteAggregate,
  type LogPort,
  type QueueErrorCode,
  type ReferenceDataPort,
  type RuleStateErrorCode,
  type RuleStateStorePort,
  type StatusStorePort,
  type TelemetryEnvelope,
  type TelemetryIntakePort,
  type WindowPeak,
} from '@fieldlink/ports';
import type { BatchEffects } from './telemetry-ingest.js';

/**
 * What the main thread and a telemetry-ingest worker (see `TelemetryIngestWorkers`) say to each
 * other. The worker runs a `TelemetryIngest`; the ports it uses are the main thread's, asked
 * through messages (the calls made in one turn of the worker's event loop go in one message),
 * except those that the `TelemetrySource` it reads from opened in its own thread.
 */

/** The settings of `TelemetryIngestDeps` that are data; the ports stay on the main thread. */
export interface WorkerIngestSettings {
  readonly defaultDeviceType: string;
  readonly commitIntervalMs?: number;
  readonly lateArrivalMs?: number;
  readonly maxJournalEntries?: number;
  readonly recordsPerPart?: number;
  readonly stateKeyPrefix?: string;
  /**
   * Whether the main thread has a status store (without one, ingest raises alerts only). A worker
   * writes health rows a slice per message (`upsertManyDeviceHealth`) whatever the store takes:
   * the main thread writes them one by one to a store that takes one per call.
   */
  readonly statusStore: boolean;
  readonly ruleStateStore: boolean;
}

/** The ports a worker's ingest calls, with the methods it may call on each. */
export const WORKER_PORT_METHODS = {
  referenceData: ['deviceRules', 'deviceTypeOf', 'lookUp'],
  alertsQueue: ['send'],
  rejected: ['reject'],
  log: ['info', 'warn', 'error'],
  statusStore: ['writeAggregates', 'upsertManyDeviceHealth'],
  ruleStateStore: ['loadJson', 'save'],
  /** `mark(partitionId, through)`: the intake's checkpoint of the partition. */
  checkpoint: ['mark'],
  /**
   * `store(runId, effects)`: a batch's effects (`storeBatchEffects`); once they are stored the main
   * thread answers the batch's run (`runId`, null: none) with their outcome, unless it waits for a commit.
   */
  effects: ['store'],
} as const;
export type WorkerPortName = keyof typeof WORKER_PORT_METHODS;

/** A port call from the worker; without an id, nothing is answered (a log line). */
export interface PortCall {
  readonly id: number | undefined;
  readonly port: WorkerPortName;
  readonly method: string;
  readonly args: readonly unknown[];
}

/**
 * Reference data sent with a batch (`ingestBatch`'s third argument), in columns beside its packed
 * envelopes: the device types its devices have (null: unknown) and the rule lists in force at its
 * enqueued times, each once, and for each envelope the index of its device's type and of its
 * time's rules among them. A batch's devices mostly share one type and its times one list, so what
 * is cloned is a string, a list and two transferred arrays, not a string or two per device.
 */
export interface BatchReference {
  readonly types: ReadonlyArray<string | null>;
  readonly typeOf: Uint32Array;
  readonly ruleLists: ReadonlyArray<readonly CfsThresholdRule[]>;
  readonly rulesOf: Uint32Array;
}

/** The reference data of a batch of one partition, asked of the port in one call, and the buffers to transfer with it. */
export async function batchReference(
  referenceData: ReferenceDataPort,
  envelopes: readonly TelemetryEnvelope[],
): Promise<{ reference: BatchReference; transfer: ArrayBuffer[] }> {
  const found = await lookUpEach(
    referenceData,
    envelopes,
    (e) => e.connectionDeviceId,
    (e) => e.enqueuedTime,
  );
  const count = envelopes.length;
  // Both columns in one buffer: one to transfer.
  const columns = new Uint32Array(2 * count);
  const typeOf = columns.subarray(0, count);
  const rulesOf = columns.subarray(count);
  const types: Array<string | null> = [];
  const ruleLists: Array<readonly CfsThresholdRule[]> = [];
  for (let i = 0; i < count; i++) {
    typeOf[i] = indexIn(types, found.deviceTypes[i] ?? null);
    rulesOf[i] = indexIn(ruleLists, found.rules[i]!);
  }
  return { reference: { types, typeOf, ruleLists, rulesOf }, transfer: [columns.buffer as ArrayBuffer] };
}

/** Each envelope's device type (undefined: unknown) and the rules in force at its time, as a batch's reference tells them (`envelopes`: the batch unpacked). */
export function eachReferenced(
  envelopes: readonly TelemetryEnvelope[],
  reference: BatchReference,
  visit: (deviceId: string, deviceType: string | undefined, at: number, rules: readonly CfsThresholdRule[]) => void,
): void {
  for (let i = 0; i < envelopes.length; i++) {
    const { connectionDeviceId, enqueuedTime } = envelopes[i]!;
    visit(connectionDeviceId, reference.types[reference.typeOf[i]!] ?? undefined, enqueuedTime, reference.ruleLists[reference.rulesOf[i]!]!);
  }
}

/** Where `item` is in `list`, added at the end if it is not: a batch has few distinct types and rule lists, so a scan beats a map. */
function indexIn<T>(list: T[], item: T): number {
  const at = list.indexOf(item);
  return at >= 0 ? at : list.push(item) - 1;
}

/**
 * Strings joined into one as they are added (one string to clone rather than one each), telling
 * where each ends; `Cuts` takes them apart again.
 */
class Joined {
  private readonly parts: string[] = [];
  private length = 0;

  /** Adds `text`; returns where it ends in the joined string. */
  add(text: string): number {
    this.parts.push(text);
    return (this.length += text.length);
  }

  get text(): string {
    return this.parts.join('');
  }
}

/** The strings of a `Joined` again, in the order they were added, each cut at the end it was given. */
class Cuts {
  private start = 0;
  constructor(private readonly text: string) {}

  next(end: number): string {
    const cut = this.text.slice(this.start, end);
    this.start = end;
    return cut;
  }
}

/**
 * One partition's envelopes as they cross to a worker (`ingestBatch`'s first argument): the
 * bodies one after the other and the numbers in columns, all views of one buffer, which is
 * transferred, not copied again. Cloned as they are, a batch's envelopes are a buffer each for the
 * main thread to serialise and the worker to allocate, the larger part of what the main thread
 * spent per reading. The device ids go as one string: cloning a list of 100 short strings took
 * the main thread about 14 µs, one string of them 3 to 5 (joining included).
 */
export interface PackedEnvelopes {
  readonly partitionId: string;
  readonly bodies: Uint8Array;
  /** Where each envelope's body ends in `bodies` (it starts where the one before ends). */
  readonly ends: Uint32Array;
  /** Each envelope's `connectionDeviceId`, one after the other. */
  readonly deviceIds: string;
  /** Where each envelope's device id ends in `deviceIds`. */
  readonly deviceIdEnds: Uint32Array;
  readonly enqueuedTimes: Float64Array;
  readonly sequenceNumbers: Float64Array;
  /** Each envelope's application properties (null: none); absent when none has any. */
  readonly properties?: ReadonlyArray<Readonly<Record<string, string>> | null>;
}

/** Packs envelopes of one partition; `transfer` lists the buffers `postMessage` should move rather than copy. */
export function packEnvelopes(partitionId: string, envelopes: readonly TelemetryEnvelope[]): { packed: PackedEnvelopes; transfer: ArrayBuffer[] } {
  const count = envelopes.length;
  let size = 0;
  for (const e of envelopes) size += e.body.byteLength;
  // Every column a view of one buffer, so one buffer to transfer: each buffer a message moves cost
  // the main thread about 1 µs more (seven of them took 11 to 14 µs a message, one 3 to 7).
  const buffer = new ArrayBuffer(24 * count + size);
  const enqueuedTimes = new Float64Array(buffer, 0, count);
  const sequenceNumbers = new Float64Array(buffer, 8 * count, count);
  const ends = new Uint32Array(buffer, 16 * count, count);
  const deviceIdEnds = new Uint32Array(buffer, 20 * count, count);
  const bodies = new Uint8Array(buffer, 24 * count, size);
  const deviceIds = new Joined();
  let properties: (Readonly<Record<string, string>> | null)[] | undefined;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const e = envelopes[i]!;
    bodies.set(e.body, at);
    at += e.body.byteLength;
    ends[i] = at;
    deviceIdEnds[i] = deviceIds.add(e.connectionDeviceId);
    enqueuedTimes[i] = e.enqueuedTime;
    sequenceNumbers[i] = e.sequenceNumber;
    if (e.properties !== undefined) (properties ??= new Array<null>(count).fill(null))[i] = e.properties;
  }
  const packed: PackedEnvelopes = {
    partitionId,
    bodies,
    ends,
    deviceIds: deviceIds.text,
    deviceIdEnds,
    enqueuedTimes,
    sequenceNumbers,
    ...(properties === undefined ? {} : { properties }),
  };
  return { packed, transfer: [buffer] };
}

/** The envelopes again, each body a view of the one buffer. */
export function unpackEnvelopes(packed: PackedEnvelopes): TelemetryEnvelope[] {
  const { partitionId, bodies, ends, deviceIds, deviceIdEnds, enqueuedTimes, sequenceNumbers, properties } = packed;
  const envelopes: TelemetryEnvelope[] = [];
  let start = 0;
  const ids = new Cuts(deviceIds);
  for (let i = 0; i < ends.length; i++) {
    const body = bodies.subarray(start, ends[i]);
    start = ends[i]!;
    const connectionDeviceId = ids.next(deviceIdEnds[i]!);
    const envelope = { body, connectionDeviceId, enqueuedTime: enqueuedTimes[i]!, partitionId, sequenceNumber: sequenceNumbers[i]! };
    const own = properties?.[i];
    envelopes.push(own === undefined || own === null ? envelope : { ...envelope, properties: own });
  }
  return envelopes;
}

/**
 * A commit's aggregate rows as they cross to the main thread (`statusStore.writeAggregates`): the
 * numbers in columns, the strings joined, each reading type and rule output once. Cloned as
 * objects, a slice of 500 rows took the main thread about 0.5 ms to read back (V8's deserializer);
 * at 10,000 devices a commit writes 40 such slices, and the main thread serves every worker.
 */
export interface PackedAggregates {
  readonly deviceIds: string;
  readonly tokens: string;
  /** Reading types and rule outputs, each once. */
  readonly names: readonly string[];
  /** Per row: where its device id and its peak's token end, its reading type and its rule output (indexes in `names`), and `AGGREGATE_FLAGS`. */
  readonly ints: Uint32Array;
  /** Per row: window end, count, min, max, avg, the peak's time and threshold. */
  readonly numbers: Float64Array;
}

const AGGREGATE_INTS = 5;
const AGGREGATE_NUMBERS = 7;
/** A row's flags: it has a peak; the peak's threshold is null; its rule output is null. */
const HAS_PEAK = 1;
const NO_THRESHOLD = 2;
const NO_RULE_OUTPUT = 4;

export function packAggregates(rows: readonly MinuteAggregate[]): PackedAggregates {
  const names: string[] = [];
  const deviceIds = new Joined();
  const tokens = new Joined();
  const ints = new Uint32Array(AGGREGATE_INTS * rows.length);
  const numbers = new Float64Array(AGGREGATE_NUMBERS * rows.length);
  let tokensEnd = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const i = AGGREGATE_INTS * r;
    const n = AGGREGATE_NUMBERS * r;
    ints[i] = deviceIds.add(row.deviceId);
    ints[i + 2] = indexIn(names, row.readingType);
    numbers[n] = row.windowEnd;
    numbers[n + 1] = row.count;
    numbers[n + 2] = row.min;
    numbers[n + 3] = row.max;
    numbers[n + 4] = row.avg;
    const peak = row.peak;
    if (peak !== undefined) {
      tokensEnd = tokens.add(peak.eventToken);
      numbers[n + 5] = peak.time;
      numbers[n + 6] = peak.threshold ?? 0;
      if (peak.ruleOutput !== null) ints[i + 3] = indexIn(names, peak.ruleOutput);
      ints[i + 4] = HAS_PEAK | (peak.threshold === null ? NO_THRESHOLD : 0) | (peak.ruleOutput === null ? NO_RULE_OUTPUT : 0);
    }
    ints[i + 1] = tokensEnd;
  }
  return { deviceIds: deviceIds.text, tokens: tokens.text, names, ints, numbers };
}

export function unpackAggregates(packed: PackedAggregates): MinuteAggregate[] {
  const { names, ints, numbers } = packed;
  const deviceIds = new Cuts(packed.deviceIds);
  const tokens = new Cuts(packed.tokens);
  const rows: MinuteAggregate[] = [];
  for (let i = 0, n = 0; i < ints.length; i += AGGREGATE_INTS, n += AGGREGATE_NUMBERS) {
    const deviceId = deviceIds.next(ints[i]!);
    const readingType = names[ints[i + 2]!]!;
    const windowEnd = numbers[n]!;
    const count = numbers[n + 1]!;
    const min = numbers[n + 2]!;
    const max = numbers[n + 3]!;
    const avg = numbers[n + 4]!;
    const flags = ints[i + 4]!;
    if ((flags & HAS_PEAK) === 0) {
      rows.push({ deviceId, readingType, windowEnd, count, min, max, avg });
      continue;
    }
    const peak: WindowPeak = {
      eventToken: tokens.next(ints[i + 1]!),
      time: numbers[n + 5]!,
      threshold: (flags & NO_THRESHOLD) === 0 ? numbers[n + 6]! : null,
      ruleOutput: (flags & NO_RULE_OUTPUT) === 0 ? names[ints[i + 3]!]! : null,
    };
    rows.push({ deviceId, readingType, windowEnd, count, min, max, avg, peak });
  }
  return rows;
}

/**
 * A commit's health rows as they cross to the main thread (`statusStore.upsertManyDeviceHealth`),
 * packed as the aggregate rows are (500 cloned as objects took the main thread about 0.4 ms to read).
 */
export interface PackedHealth {
  readonly deviceIds: string;
  /** Reading types, each once. */
  readonly names: readonly string[];
  /** Per row: where its device id ends, whether it is online (1) or not (0), and where its last readings end in `readingNameOf` and `readingValues`. */
  readonly ints: Uint32Array;
  readonly lastActivityTimes: Float64Array;
  /** Every row's last readings one after the other: each one's reading type (index in `names`) and value. */
  readonly readingNameOf: Uint32Array;
  readonly readingValues: Float64Array;
}

export function packHealth(rows: readonly DeviceHealth[]): PackedHealth {
  const names: string[] = [];
  const deviceIds = new Joined();
  const ints = new Uint32Array(3 * rows.length);
  const lastActivityTimes = new Float64Array(rows.length);
  const readingNameOf: number[] = [];
  const readingValues: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    ints[3 * r] = deviceIds.add(row.deviceId);
    ints[3 * r + 1] = row.online ? 1 : 0;
    lastActivityTimes[r] = row.lastActivityTime;
    const readings = row.lastReadings;
    for (const readingType of Object.keys(readings)) {
      readingNameOf.push(indexIn(names, readingType));
      readingValues.push(readings[readingType]!);
    }
    ints[3 * r + 2] = readingValues.length;
  }
  return {
    deviceIds: deviceIds.text,
    names,
    ints,
    lastActivityTimes,
    readingNameOf: Uint32Array.from(readingNameOf),
    readingValues: Float64Array.from(readingValues),
  };
}

export function unpackHealth(packed: PackedHealth): DeviceHealth[] {
  const { names, ints, lastActivityTimes, readingNameOf, readingValues } = packed;
  const deviceIds = new Cuts(packed.deviceIds);
  const rows: DeviceHealth[] = [];
  let reading = 0;
  for (let r = 0; r < lastActivityTimes.length; r++) {
    const deviceId = deviceIds.next(ints[3 * r]!);
    const lastReadings: Record<string, number> = {};
    for (const end = ints[3 * r + 2]!; reading < end; reading++) {
      const readingType = names[readingNameOf[reading]!]!;
      const value = readingValues[reading]!;
      // An own property whatever its name: an assignment to `__proto__` would set no reading.
      if (readingType === '__proto__') Object.defineProperty(lastReadings, readingType, { value, enumerable: true, writable: true, configurable: true });
      else lastReadings[readingType] = value;
    }
    rows.push({ deviceId, lastActivityTime: lastActivityTimes[r]!, online: ints[3 * r + 1] === 1, lastReadings });
  }
  return rows;
}

/** Health rows written as the store takes them: all at once, or one by one. */
export async function upsertHealthRows(
  store: Pick<StatusStorePort, 'upsertDeviceHealth' | 'upsertManyDeviceHealth'>,
  rows: readonly DeviceHealth[],
): Promise<void> {
  if (store.upsertManyDeviceHealth !== undefined) return store.upsertManyDeviceHealth(rows);
  for (const row of rows) await store.upsertDeviceHealth(row);
}

/** The rule state under `key` as JSON text: the store's own where it gives it (`loadJson`), else its snapshot serialised. */
export async function loadJsonOf(store: RuleStateStorePort, key: string): Promise<string | undefined> {
  if (store.loadJson !== undefined) return store.loadJson(key);
  const snapshot = await store.load(key);
  return snapshot === undefined ? undefined : JSON.stringify(snapshot);
}

/** Rule state text that crossed from the main thread, parsed; the error names the key. */
export function parseLoaded(key: string, json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new Error(`Rule state '${key}' is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** A batch's effects as they cross to the main thread (`effects.store`): the envelope the state takes the batch in through stays in the worker. */
export type SentEffects = Omit<BatchEffects, 'through'>;

/**
 * Where workers that own their partitions read them (`TelemetryIngestWorkersOptions.source`): a
 * module each worker imports itself, which exports `openTelemetrySource` (an `OpenTelemetrySource`),
 * and the settings it is called with there, which cross to the worker by structured clone (no
 * functions, no class instances). `entry` is the module's URL (`file:`), TypeScript sources
 * included when the workers run from the sources.
 */
export interface TelemetrySourceModule {
  readonly entry: string;
  readonly settings: unknown;
}

/** What a worker that owns its partitions reads them from, opened in the worker. */
export interface TelemetrySource {
  /** The hub's stream, which the worker subscribes to for its share of `partitionIds` (`partitions` of `subscribe`). */
  readonly intake: TelemetryIntakePort;
  /** Every partition of the hub, the same list in the same order in every worker: worker i of n reads those at i, i + n, i + 2n… */
  readonly partitionIds: readonly string[];
  /**
   * The intake shares a consumer group's partitions among its subscribers itself (Event Hubs with
   * a checkpoint store balances them, across processes too): each worker then subscribes to all of
   * them and reads those the hub gives it, rather than a fixed share.
   */
  readonly balancesPartitions?: boolean;
  /** The worker's own reference data; when absent it asks the main thread's, per batch. */
  readonly referenceData?: ReferenceDataPort;
  /**
   * The worker's own connection to the status store, where the store is a file or a service
   * (SQLite, PostgreSQL, Azure SQL): its commits' aggregates and health rows go there and never
   * cross to the main thread. It must reach the same data as the main thread's store (the same
   * file or database), whose readers see what the workers wrote; it is not used where the ingest
   * was given no status store. When absent, the worker asks the main thread's.
   */
  readonly statusStore?: Pick<StatusStorePort, 'writeAggregates' | 'upsertDeviceHealth' | 'upsertManyDeviceHealth'>;
  /**
   * The worker's own connection to the rule state store (a SQLite file, Blob storage), as
   * `statusStore`: its partitions' state and checkpoints are saved and restored there. The
   * partitions' keys are this worker's alone while it reads them.
   */
  readonly ruleStateStore?: RuleStateStorePort;
  /** Lets go of what it opened, once the worker's subscription has closed. */
  close(): Promise<void>;
}

/** A source module's export: opens the source in the worker; `log` goes to the main thread's log. */
export type OpenTelemetrySource = (settings: unknown, log: LogPort) => Promise<TelemetrySource>;

/**
 * The ingest's own methods the main thread runs in a worker. `own(entry, settings, index, count,
 * consumerGroup, tickMs)`: open the source and read this worker's share of its partitions,
 * committing every `tickMs` (answers the partition ids it reads); `disown`: close that
 * subscription, committing what is left, and the source.
 */
export type IngestMethod = 'ingestBatch' | 'flush' | 'commitDue' | 'advanceIdle' | 'advanceTime' | 'own' | 'disown';

export interface RunMessage {
  readonly kind: 'run';
  readonly id: number;
  readonly method: IngestMethod;
  readonly args: readonly unknown[];
  /** The main thread's clock when it sent this: the worker's ingest reads its clock from here (a worker that owns its partitions reads the system clock). */
  readonly now: number;
  /** For each partition of the worker whose intake tells it: the sequence number of the newest event the hub holds (null: the intake cannot tell now). */
  readonly newest: Readonly<Record<string, number | null>>;
}

export type Answer =
  | { readonly kind: 'answer'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'answer'; readonly id: number; readonly ok: false; readonly error: SentError };

/** The answers to a worker's port calls, those ready in one turn of this thread's loop together. */
export type ToWorker = RunMessage | { readonly kind: 'answers'; readonly answers: readonly Answer[] };
/** `ready`: the worker has loaded and built its ingest. */
export type FromWorker = { readonly kind: 'ready' } | { readonly kind: 'calls'; readonly calls: readonly PortCall[] } | Answer;

/** An error as it crosses the thread boundary: its name, message and code (what callers tell errors apart by). */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

export function sendableError(error: unknown): SentError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { name: error.name, message: error.message, code } : { name: error.name, message: error.message };
}

/** The error as it was sent: a port's own error class again (callers tell them apart with `instanceof`), else a plain Error. */
export function receivedError(sent: SentError): Error {
  if (sent.name === 'RuleStateError' && sent.code !== undefined) return new RuleStateError(sent.code as RuleStateErrorCode, sent.message);
  if (sent.name === 'QueueError' && sent.code !== undefined) return new QueueError(sent.code as QueueErrorCode, sent.message);
  const error = new Error(sent.message);
  error.name = sent.name;
  if (sent.code !== undefined) Object.assign(error, { code: sent.code });
  return error;
}
