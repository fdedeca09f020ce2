// Flows 3–6 (ingest): an ingest worker thread.
/**
 * A telemetry-ingest worker thread (see `TelemetryIngestWorkers`): a `TelemetryIngest` of its own
 * for the partitions the main thread hands it, or, told to `own` them, for the partitions it reads
 * itself from a source it opens here. The queues and log are the main thread's, and so are the
 * stores unless the source opens its own connections to them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CfsThresholdRule } from '@fieldlink/domain';
import {
  lookUpReference,
  type LogFields,
  type ReferenceDataPort,
  type ReferenceLookup,
  type TelemetryEnvelope,
  type TelemetryPartitionContext,
  type TelemetrySubscription,
} from '@fieldlink/ports';
import { systemClock } from '../shared/system-sources.js';
import { subscribeCommitting, TelemetryIngest, type TelemetryIngestDeps } from './telemetry-ingest.js';
import {
  receivedError,
  sendableError,
  eachReferenced,
  loadJsonOf,
  packAggregates,
  packHealth,
  parseLoaded,
  unpackEnvelopes,
  upsertHealthRows,
  type BatchReference,
  type FromWorker,
  type OpenTelemetrySource,
  type PackedEnvelopes,
  type PortCall,
  type RunMessage,
  type SentEffects,
  type TelemetrySource,
  type ToWorker,
  type WorkerIngestSettings,
  type WorkerPortName,
} from './telemetry-ingest-worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('telemetry-ingest-worker runs in a worker thread only.');
const settings = workerData as WorkerIngestSettings;

/** The main thread's clock, as of the run in progress: every run message sets it before the ingest reads it. */
let now = 0;
const newest = new Map<string, number | undefined>();
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextCallId = 0;
let outbox: PortCall[] = [];

const post = (message: FromWorker): void => port.postMessage(message);
function sendCalls(): void {
  if (outbox.length === 0) return;
  const calls = outbox;
  outbox = [];
  post({ kind: 'calls', calls });
}

/** Asks the main thread; the calls of one turn leave together. */
function ask<T>(target: WorkerPortName, method: string, args: readonly unknown[]): Promise<T> {
  if (outbox.length === 0) queueMicrotask(sendCalls);
  const id = ++nextCallId;
  outbox.push({ id, port: target, method, args });
  // The main thread answers with what the port's method resolved to.
  return new Promise<T>((resolve, reject) => waiting.set(id, { resolve: resolve as (value: unknown) => void, reject }));
}
function tell(target: WorkerPortName, method: string, args: readonly unknown[]): void {
  if (outbox.length === 0) queueMicrotask(sendCalls);
  outbox.push({ id: undefined, port: target, method, args });
}

const log = {
  info: (event: string, fields?: LogFields) => tell('log', 'info', [event, fields]),
  warn: (event: string, fields?: LogFields) => tell('log', 'warn', [event, fields]),
  error: (event: string, fields?: LogFields) => tell('log', 'error', [event, fields]),
};
/** What this worker reads itself, once told to `own` its partitions: the source it opened and its subscription. */
let owned: { readonly source: TelemetrySource; readonly subscription: TelemetrySubscription } | undefined;
/** The source's reference data, when it has its own: asked here, not of the main thread. */
let ownReference: ReferenceDataPort | undefined;
/** The source's own connections to the stores, when it has them: commits are written here, not on the main thread. */
let ownStatus: TelemetrySource['statusStore'];
let ownRuleState: TelemetrySource['ruleStateStore'];
/** Whether this worker reads its partitions itself: its ingest then reads the system clock, as the main thread's does. */
let reading = false;

/** Reference data sent with the batches running now (forgotten once none runs): read before asking. */
const sentTypes = new Map<string, string | undefined>();
const sentRules = new Map<number, readonly CfsThresholdRule[]>();

/** The run each batch came in, by its last envelope: a batch's effects name their run, which the main thread then answers. */
const runOfBatch = new WeakMap<TelemetryEnvelope, number>();
/** Batches running here: other work waits for them, as their runs may be answered before they end (see `effects.store`). */
const batches = new Set<Promise<unknown>>();
/** Runs the main thread answered when it stored their effects: their end is told only if it fails. */
const answeredByMain = new Set<number>();

const deps: TelemetryIngestDeps = {
  referenceData: {
    deviceRules: (at) => {
      if (ownReference !== undefined) return ownReference.deviceRules(at);
      const sent = sentRules.get(at);
      return sent === undefined ? ask<readonly CfsThresholdRule[]>('referenceData', 'deviceRules', [at]) : Promise.resolve(sent);
    },
    deviceTypeOf: (deviceId) =>
      ownReference !== undefined
        ? ownReference.deviceTypeOf(deviceId)
        : sentTypes.has(deviceId)
          ? Promise.resolve(sentTypes.get(deviceId))
          : ask<string | undefined>('referenceData', 'deviceTypeOf', [deviceId]),
    // What was sent with the batches running now, and the rest (a commit's peaks) asked of the main thread in one call.
    lookUp: async (deviceIds, times) => {
      if (ownReference !== undefined) return lookUpReference(ownReference, deviceIds, times);
      const askDevices = deviceIds.filter((d) => !sentTypes.has(d));
      const askTimes = times.filter((t) => !sentRules.has(t));
      const asked =
        askDevices.length === 0 && askTimes.length === 0 ? undefined : await ask<ReferenceLookup>('referenceData', 'lookUp', [askDevices, askTimes]);
      const typeOf = new Map<string, string | undefined>();
      askDevices.forEach((d, i) => typeOf.set(d, asked!.deviceTypes[i]));
      const rulesOf = new Map<number, readonly CfsThresholdRule[]>();
      askTimes.forEach((t, i) => rulesOf.set(t, asked!.rulesAt[i]!));
      return {
        deviceTypes: deviceIds.map((d) => (sentTypes.has(d) ? sentTypes.get(d) : typeOf.get(d))),
        rulesAt: times.map((t) => sentRules.get(t) ?? rulesOf.get(t)!),
      };
    },
  },
  alertsQueue: { send: (messages) => ask<void>('alertsQueue', 'send', [messages]) },
  rejected: { reject: (rejected) => ask<void>('rejected', 'reject', [rejected]) },
  log,
  // A batch without effects asks nothing (see `TelemetryIngest`): its run's answer is the only message back.
  storeEffects: async ({ through, ...effects }) => {
    const runId = runOfBatch.get(through) ?? null;
    await ask<void>('effects', 'store', [runId, effects satisfies SentEffects]);
    if (runId !== null && !effects.answerAfterCommit) answeredByMain.add(runId);
  },
  clock: { now: () => (reading ? systemClock.now() : now) },
  defaultDeviceType: settings.defaultDeviceType,
  ...(settings.commitIntervalMs === undefined ? {} : { commitIntervalMs: settings.commitIntervalMs }),
  ...(settings.lateArrivalMs === undefined ? {} : { lateArrivalMs: settings.lateArrivalMs }),
  ...(settings.maxJournalEntries === undefined ? {} : { maxJournalEntries: settings.maxJournalEntries }),
  ...(settings.recordsPerPart === undefined ? {} : { recordsPerPart: settings.recordsPerPart }),
  ...(settings.stateKeyPrefix === undefined ? {} : { stateKeyPrefix: settings.stateKeyPrefix }),
  ...(!settings.statusStore
    ? {}
    : {
        statusStore: {
          // Packed in columns, which the main thread reads back at a fraction of the objects' cost.
          writeAggregates: (rows) => ownStatus?.writeAggregates(rows) ?? ask<void>('statusStore', 'writeAggregates', [packAggregates(rows)]),
          // A slice of rows per message, not a round trip per device.
          upsertDeviceHealth: (health) => ownStatus?.upsertDeviceHealth(health) ?? ask<void>('statusStore', 'upsertManyDeviceHealth', [packHealth([health])]),
          upsertManyDeviceHealth: (rows) =>
            ownStatus !== undefined ? upsertHealthRows(ownStatus, rows) : ask<void>('statusStore', 'upsertManyDeviceHealth', [packHealth(rows)]),
        },
      }),
  ...(settings.ruleStateStore
    ? {
        ruleStateStore: {
          // As text, parsed here: the main thread neither parses the snapshot nor clones its objects.
          load: (key) => ownRuleState?.load(key) ?? ask<string | undefined>('ruleStateStore', 'loadJson', [key]).then((json) => parseLoaded(key, json)),
          loadJson: (key) => (ownRuleState !== undefined ? loadJsonOf(ownRuleState, key) : ask<string | undefined>('ruleStateStore', 'loadJson', [key])),
          // Written as the stores write it (JSON, so each window's `toJSON`), here rather than on the main thread.
          save: (key, snapshot) => ownRuleState?.save(key, snapshot) ?? ask<void>('ruleStateStore', 'save', [key, JSON.stringify(snapshot)]),
        },
      }
    : {}),
};
const ingest = new TelemetryIngest(deps);

/** Per partition, a context per claim of it the main thread tells of (a new claim, a new context: see `TelemetryIngestWorkers`). */
const contexts = new Map<string, { readonly claim: number; readonly context: TelemetryPartitionContext }>();
function contextOf(partitionId: string, claim: number): TelemetryPartitionContext {
  const known = contexts.get(partitionId);
  if (known?.claim === claim) return known.context;
  const context: TelemetryPartitionContext = {
    partitionId,
    checkpoint: (through) => ask<void>('checkpoint', 'mark', [partitionId, through]),
    lastEnqueuedSequenceNumber: () => newest.get(partitionId),
  };
  contexts.set(partitionId, { claim, context });
  return context;
}

async function run(message: RunMessage): Promise<unknown> {
  if (message.method === 'ingestBatch') return runBatch(message);
  if (message.method === 'own') return own(...(message.args as Parameters<typeof own>));
  if (message.method === 'disown') return disown();
  // Other work starts once the batches running here have ended: their runs may have been answered before.
  await Promise.allSettled([...batches]);
  const [first, second] = message.args;
  switch (message.method) {
    case 'flush':
      return ingest.flush();
    case 'commitDue':
      return ingest.commitDue();
    case 'advanceIdle':
      return ingest.advanceIdle((first as string[] | undefined)?.map((partitionId, i) => contextOf(partitionId, (second as number[])[i]!)));
    case 'advanceTime':
      return ingest.advanceTime(first as number);
  }
}

/**
 * Opens the source and subscribes to this worker's share of its partitions (those at `index`,
 * `index + count`…), committing every `tickMs` as the main thread's subscription does; answers the
 * partition ids it reads (none when there are more workers than partitions; null where the hub
 * balances them among its subscribers).
 */
async function own(entry: string, sourceSettings: unknown, index: number, count: number, consumerGroup: string, tickMs: number): Promise<string[] | null> {
  if (owned !== undefined) throw new Error('This ingest worker already reads its partitions; disown them first.');
  const module = (await import(entry)) as { openTelemetrySource?: OpenTelemetrySource };
  if (typeof module.openTelemetrySource !== 'function')
    throw new TypeError(`The telemetry source module ${entry} does not export a function openTelemetrySource.`);
  const source = await module.openTelemetrySource(sourceSettings, log);
  // Where the hub balances partitions among its subscribers, each worker subscribes to all and reads what it is given.
  const mine = source.balancesPartitions === true ? undefined : source.partitionIds.filter((_, i) => i % count === index);
  if (mine?.length === 0) {
    await source.close();
    return [];
  }
  try {
    ownReference = source.referenceData;
    ownStatus = source.statusStore;
    ownRuleState = source.ruleStateStore;
    reading = true;
    const subscription = await subscribeCommitting(ingest, source.intake, consumerGroup, tickMs, log, undefined, mine);
    owned = { source, subscription };
    return mine ?? null;
  } catch (error) {
    forgetSource();
    await source.close();
    throw error;
  }
}

/** Closes this worker's own subscription (which commits what is left) and its source. */
async function disown(): Promise<void> {
  const held = owned;
  if (held === undefined) return;
  try {
    await held.subscription.close();
  } finally {
    owned = undefined;
    forgetSource();
    await held.source.close();
  }
}

/** Back to the main thread's ports, once the source's subscription has closed (committing what was left to the source's stores). */
function forgetSource(): void {
  ownReference = undefined;
  ownStatus = undefined;
  ownRuleState = undefined;
  reading = false;
}

async function runBatch(message: RunMessage): Promise<unknown> {
  const [packed, partitionId, reference, claim] = message.args as [PackedEnvelopes, string | undefined, BatchReference | undefined, number | undefined];
  const batch = unpackEnvelopes(packed);
  if (reference !== undefined)
    eachReferenced(batch, reference, (deviceId, deviceType, at, rules) => {
      sentTypes.set(deviceId, deviceType);
      sentRules.set(at, rules);
    });
  const last = batch.at(-1);
  if (last !== undefined) runOfBatch.set(last, message.id);
  const running = ingest.ingestBatch(batch, partitionId === undefined ? undefined : contextOf(partitionId, claim ?? 0));
  batches.add(running);
  try {
    return await running;
  } finally {
    batches.delete(running);
    if (batches.size === 0) {
      sentTypes.clear();
      sentRules.clear();
    }
  }
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'answers') {
    for (const answer of message.answers) {
      const call = waiting.get(answer.id);
      waiting.delete(answer.id);
      if (answer.ok) call?.resolve(answer.value);
      else call?.reject(receivedError(answer.error));
    }
    return;
  }
  now = message.now;
  for (const [partitionId, sequence] of Object.entries(message.newest)) newest.set(partitionId, sequence ?? undefined);
  run(message).then(
    (value) => {
      // What the work asked without waiting (log lines) goes before its answer.
      sendCalls();
      if (!answeredByMain.delete(message.id)) post({ kind: 'answer', id: message.id, ok: true, value });
    },
    (error: unknown) => {
      sendCalls();
      answeredByMain.delete(message.id);
      post({ kind: 'answer', id: message.id, ok: false, error: sendableError(error) });
    },
  );
});
post({ kind: 'ready' });
