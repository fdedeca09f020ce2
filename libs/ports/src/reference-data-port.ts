import type { CfsThresholdRule } from '@fieldlink/domain';

/** What `ReferenceDataPort.lookUp` answers: a device type (undefined: unknown) per device, and the rules in force per time, in the order asked. */
export interface ReferenceLookup {
  readonly deviceTypes: ReadonlyArray<string | undefined>;
  readonly rulesAt: ReadonlyArray<readonly CfsThresholdRule[]>;
}

/** Flow 4a: the reference data stream processing joins telemetry with. */
export interface ReferenceDataPort {
  /** The device rules in force at `at` (epoch ms): the newest snapshot whose time has come. */
  deviceRules(at: number): Promise<readonly CfsThresholdRule[]>;
  /** The device type of a device, or undefined when the metadata does not know it. */
  deviceTypeOf(deviceId: string): Promise<string | undefined>;
  /**
   * Optional: what a batch of telemetry asks, in one call: the answers of `deviceTypeOf` for each
   * device and of `deviceRules` for each time. Ingest asks about every device and enqueued time of
   * each batch; one by one that is a promise per device and time, the larger part of what the main
   * thread allocates per reading when ingest runs on worker threads (docs/performance.md).
   */
  lookUp?(deviceIds: readonly string[], times: readonly number[]): Promise<ReferenceLookup>;
}

/** The answers of `lookUp`, from the port's own `lookUp` when it has one, else asked one by one (all at once). */
export function lookUpReference(port: ReferenceDataPort, deviceIds: readonly string[], times: readonly number[]): Promise<ReferenceLookup> {
  // Not an async function: ingest asks this for every batch, and an async function's promise and
  // frame are allocated at each call.
  if (port.lookUp !== undefined) return port.lookUp(deviceIds, times);
  return lookUpOneByOne(port, deviceIds, times);
}

/** The device type (undefined: unknown) and the rules in force of each item, in the items' order. */
export interface ReferenceOfEach {
  readonly deviceTypes: ReadonlyArray<string | undefined>;
  readonly rules: ReadonlyArray<readonly CfsThresholdRule[]>;
}

/**
 * The reference data of each item (a batch's events, a commit's peaks), asked in one call: each
 * item's device, and each time once where it differs from the time before (times rise through a
 * batch, many alike). Answered as columns in the items' order: no map per batch to fill and read.
 */
export function lookUpEach<T>(
  port: ReferenceDataPort,
  items: readonly T[],
  deviceOf: (item: T) => string,
  timeOf: (item: T) => number,
): Promise<ReferenceOfEach> {
  const count = items.length;
  const devices = new Array<string>(count);
  const times: number[] = [];
  const timeOfItem = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const item = items[i]!;
    devices[i] = deviceOf(item);
    const at = timeOf(item);
    if (times.length === 0 || times[times.length - 1] !== at) times.push(at);
    timeOfItem[i] = times.length - 1;
  }
  return lookUpReference(port, devices, times).then((found) => {
    const rules = new Array<readonly CfsThresholdRule[]>(count);
    for (let i = 0; i < count; i++) rules[i] = found.rulesAt[timeOfItem[i]!]!;
    return { deviceTypes: found.deviceTypes, rules };
  });
}

/** Each distinct device and time asked once (a batch names a device as often as it sent), all at once. */
async function lookUpOneByOne(port: ReferenceDataPort, deviceIds: readonly string[], times: readonly number[]): Promise<ReferenceLookup> {
  const typeOf = new Map<string, Promise<string | undefined>>();
  const rulesOf = new Map<number, Promise<readonly CfsThresholdRule[]>>();
  for (const d of deviceIds) if (!typeOf.has(d)) typeOf.set(d, port.deviceTypeOf(d));
  for (const t of times) if (!rulesOf.has(t)) rulesOf.set(t, port.deviceRules(t));
  const [deviceTypes, rulesAt] = await Promise.all([Promise.all(deviceIds.map((d) => typeOf.get(d)!)), Promise.all(times.map((t) => rulesOf.get(t)!))]);
  return { deviceTypes, rulesAt };
}
