// Flows 3–6 (ingest): what the main thread and an ingest worker thread say to each other.
import type { CfsThresholdRule } from '@fieldlink/domain';
import {
  lookUpEach,
  QueueError,
  RuleStateError,
  type QueueErrorCode,
  type ReferenceDataPort,
  type RuleStateErrorCode,
  type TelemetryEnvelope,
} from '@fieldlink/ports';
import type { BatchEffects } from './telemetry-ingest.js';

/**
 * What the main thread and a telemetry-ingest worker (see `TelemetryIngestWorkers`) say to each
 * other. The worker runs a `TelemetryIngest`; every port it uses is the main thread's, asked
 * through messages; the calls made in one turn of the worker's event loop go in one message.
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
  ruleStateStore: ['load', 'save'],
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
  const typeOf = new Uint32Array(count);
  const rulesOf = new Uint32Array(count);
  const types: Array<string | null> = [];
  const ruleLists: Array<readonly CfsThresholdRule[]> = [];
  for (let i = 0; i < count; i++) {
    typeOf[i] = indexIn(types, found.deviceTypes[i] ?? null);
    rulesOf[i] = indexIn(ruleLists, found.rules[i]!);
  }
  return { reference: { types, typeOf, ruleLists, rulesOf }, transfer: [typeOf.buffer as ArrayBuffer, rulesOf.buffer as ArrayBuffer] };
}

/** Each envelope's device type (undefined: unknown) and the rules in force at its time, as a batch's reference tells them. */
export function eachReferenced(
  packed: PackedEnvelopes,
  reference: BatchReference,
  visit: (deviceId: string, deviceType: string | undefined, at: number, rules: readonly CfsThresholdRule[]) => void,
): void {
  const { deviceIds, enqueuedTimes } = packed;
  for (let i = 0; i < deviceIds.length; i++)
    visit(deviceIds[i]!, reference.types[reference.typeOf[i]!] ?? undefined, enqueuedTimes[i]!, reference.ruleLists[reference.rulesOf[i]!]!);
}

/** Where `item` is in `list`, added at the end if it is not: a batch has few distinct types and rule lists, so a scan beats a map. */
function indexIn<T>(list: T[], item: T): number {
  const at = list.indexOf(item);
  return at >= 0 ? at : list.push(item) - 1;
}

/**
 * One partition's envelopes as they cross to a worker (`ingestBatch`'s first argument): the
 * bodies one after the other in one buffer, which is transferred, not copied again, and the rest
 * in columns. Cloned as they are, a batch's envelopes are a buffer each for the main thread to
 * serialise and the worker to allocate, the larger part of what the main thread spent per reading.
 */
export interface PackedEnvelopes {
  readonly partitionId: string;
  readonly bodies: Uint8Array;
  /** Where each envelope's body ends in `bodies` (it starts where the one before ends). */
  readonly ends: Uint32Array;
  readonly deviceIds: readonly string[];
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
  const bodies = new Uint8Array(size);
  const ends = new Uint32Array(count);
  const deviceIds: string[] = [];
  const enqueuedTimes = new Float64Array(count);
  const sequenceNumbers = new Float64Array(count);
  let properties: (Readonly<Record<string, string>> | null)[] | undefined;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const e = envelopes[i]!;
    bodies.set(e.body, at);
    at += e.body.byteLength;
    ends[i] = at;
    deviceIds.push(e.connectionDeviceId);
    enqueuedTimes[i] = e.enqueuedTime;
    sequenceNumbers[i] = e.sequenceNumber;
    if (e.properties !== undefined) (properties ??= new Array<null>(count).fill(null))[i] = e.properties;
  }
  const packed: PackedEnvelopes = { partitionId, bodies, ends, deviceIds, enqueuedTimes, sequenceNumbers, ...(properties === undefined ? {} : { properties }) };
  return { packed, transfer: [bodies.buffer, ends.buffer, enqueuedTimes.buffer, sequenceNumbers.buffer] };
}

/** The envelopes again, each body a view of the one buffer. */
export function unpackEnvelopes(packed: PackedEnvelopes): TelemetryEnvelope[] {
  const { partitionId, bodies, ends, deviceIds, enqueuedTimes, sequenceNumbers, properties } = packed;
  const envelopes: TelemetryEnvelope[] = [];
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const body = bodies.subarray(start, ends[i]);
    start = ends[i]!;
    const envelope = { body, connectionDeviceId: deviceIds[i]!, enqueuedTime: enqueuedTimes[i]!, partitionId, sequenceNumber: sequenceNumbers[i]! };
    const own = properties?.[i];
    envelopes.push(own === undefined || own === null ? envelope : { ...envelope, properties: own });
  }
  return envelopes;
}

/** A batch's effects as they cross to the main thread (`effects.store`): the envelope the state takes the batch in through stays in the worker. */
export type SentEffects = Omit<BatchEffects, 'through'>;

/** The ingest's own methods the main thread runs in a worker. */
export type IngestMethod = 'ingestBatch' | 'flush' | 'commitDue' | 'advanceIdle' | 'advanceTime';

export interface RunMessage {
  readonly kind: 'run';
  readonly id: number;
  readonly method: IngestMethod;
  readonly args: readonly unknown[];
  /** The main thread's clock when it sent this: the worker's ingest reads its clock from here. */
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
