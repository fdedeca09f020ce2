import { afterEach, describe, expect, it } from 'vitest';
import type {
  DeviceTelemetryPort,
  TelemetryBatchHandler,
  TelemetryEnvelope,
  TelemetryIntakePort,
  TelemetryPartitionContext,
  TelemetrySubscribeOptions,
  TelemetrySubscription,
} from '../telemetry-intake-port.js';
import { eventually, textOf, uniqueDeviceId, utf8 } from './conformance-support.js';

export interface TelemetryIntakeUnderTest {
  readonly intake: TelemetryIntakePort;
  /** Plays the devices: sends device-to-cloud messages into the stream the intake reads. */
  readonly devices: DeviceTelemetryPort;
  /** Two distinct consumer groups of the stream (e.g. `rules` and `telemetry`), of a hub with two partitions or more. */
  readonly consumerGroups: readonly [string, string];
  dispose(): Promise<void>;
  /** How long to wait for messages, in real time; 10 s when not given. */
  readonly patienceMs?: number;
}

export type TelemetryIntakeFactory = () => Promise<TelemetryIntakeUnderTest>;

type Body = { readonly DeviceID: string; readonly n: number };
const bodyOf = (e: TelemetryEnvelope): Body => JSON.parse(textOf(e.body)) as Body;
const BY_HANDLER: TelemetrySubscribeOptions = { checkpoints: 'by-handler' };

type Handed = { readonly envelope: TelemetryEnvelope; readonly partition: TelemetryPartitionContext };

/** A handler that only records what it is handed, with the partition context to mark it later. */
function recorder(): { readonly handed: Handed[]; readonly handler: TelemetryBatchHandler } {
  const handed: Handed[] = [];
  return { handed, handler: async (batch, partition) => void handed.push(...batch.map((envelope) => ({ envelope, partition }))) };
}

const numbersOf = (handed: readonly Handed[], deviceId: string): number[] =>
  handed.filter((h) => h.envelope.connectionDeviceId === deviceId).map((h) => bodyOf(h.envelope).n);

/** Marks the partition through message `n` of `deviceId`, with the context it was handed with. */
function markThrough(handed: readonly Handed[], deviceId: string, n: number): Promise<void> {
  const h = handed.find((x) => x.envelope.connectionDeviceId === deviceId && bodyOf(x.envelope).n === n);
  if (h === undefined) throw new Error(`message ${n} of ${deviceId} was not handed over`);
  return h.partition.checkpoint(h.envelope);
}

/**
 * What every TelemetryIntakePort adapter must do (flow 3): hand over each message sent after
 * `subscribe` resolved with the device id the hub authenticated, its enqueued time, partition and
 * sequence number, with one context per partition while the subscription holds it; keep one
 * device in one partition and in order; give every partition its turn (a backlog or a failing
 * batch in one does not hold back the others, as Event Hubs reads each partition apart); give a
 * failed batch again (nothing lost, order kept); serve every consumer group every message; and resume a consumer
 * group from its checkpoint after it was closed.
 * With `checkpoints: 'by-handler'`: checkpoint only where the handler marked, so a new
 * subscription resumes right after the last mark (not after the last batch handed over); count a
 * mark given after the subscription closed; never move a checkpoint back (a mark behind it, even
 * a late one of an older subscription, changes nothing); and on a handler failure give the same
 * batch again without rewinding to the checkpoint (nothing handed twice before it).
 * With `partitions`: hand over only those partitions' messages, list only them; let subscriptions
 * of one group on disjoint partitions read side by side, each message handed once, each moving
 * its own partitions' checkpoints; and refuse a partition the hub does not have, naming it.
 */
export function telemetryIntakeConformance(adapterName: string, factory: TelemetryIntakeFactory): void {
  describe(`${adapterName} conforms to TelemetryIntakePort`, () => {
    let current: TelemetryIntakeUnderTest | undefined;
    const subscriptions: TelemetrySubscription[] = [];
    afterEach(async () => {
      for (const s of subscriptions.splice(0)) await s.close();
      await current?.dispose();
      current = undefined;
    });

    const open = async () => {
      const harness = (current = await factory());
      const patience = harness.patienceMs ?? 10_000;
      const subscribe = async (group: string, handler: TelemetryBatchHandler, options?: TelemetrySubscribeOptions) => {
        const s = await harness.intake.subscribe(group, handler, options);
        subscriptions.push(s);
        return s;
      };
      const send = (deviceId: string, n: number, properties?: Record<string, string>) =>
        harness.devices.send(deviceId, utf8(JSON.stringify({ DeviceID: deviceId, n })), properties);
      const of = (received: readonly TelemetryEnvelope[], deviceId: string) => received.filter((e) => e.connectionDeviceId === deviceId);
      /** A by-handler subscription of `group` that records what it is handed, to mark it later. */
      const recording = async (group: string) => {
        const { handed, handler } = recorder();
        return { handed, subscription: await subscribe(group, handler, BY_HANDLER) };
      };
      /** Waits until the messages of `deviceId` handed to a recording are exactly `numbers`, in order. */
      const handedAre = (handed: readonly Handed[], deviceId: string, numbers: readonly number[]) =>
        eventually(() => expect(numbersOf(handed, deviceId)).toEqual(numbers), patience);
      /**
       * Where the messages of `count` new devices go: a subscription of the first group over every
       * partition is handed message 0 of each. Answers each device's partition, and the hub's
       * partition ids as far as they show (those the subscription lists, where it can tell, and
       * those of the envelopes), sorted.
       */
      const spread = async (count: number) => {
        const received: TelemetryEnvelope[] = [];
        const all = await subscribe(harness.consumerGroups[0], async (batch) => void received.push(...batch));
        const devices = Array.from({ length: count }, (_, i) => uniqueDeviceId(`spread-${i}`));
        for (const d of devices) await send(d, 0);
        const partitionOf = await eventually(
          () =>
            new Map(
              devices.map((d) => {
                const mine = of(received, d);
                expect(mine).toHaveLength(1);
                return [d, mine[0]!.partitionId] as const;
              }),
            ),
          patience,
        );
        const ids = [...new Set([...partitionOf.values(), ...(all.partitions?.() ?? []).map((p) => p.partitionId)])].sort();
        return { devices, partitionOf, ids };
      };
      return { harness, patience, subscribe, send, of, recording, handedAre, spread };
    };

    it('hands over each message with its device id, body, properties, enqueued time, partition and sequence number', async () => {
      const t = await open();
      const received: TelemetryEnvelope[] = [];
      await t.subscribe(t.harness.consumerGroups[0], async (batch) => void received.push(...batch));
      const deviceId = uniqueDeviceId("thermostat'intake");
      await t.send(deviceId, 1, { kind: 'reading' });
      const [e] = await eventually(() => {
        const got = t.of(received, deviceId);
        expect(got).toHaveLength(1);
        return got;
      }, t.patience);
      expect(bodyOf(e!)).toEqual({ DeviceID: deviceId, n: 1 });
      expect(e!.properties).toMatchObject({ kind: 'reading' });
      expect(typeof e!.partitionId).toBe('string');
      expect(Number.isInteger(e!.sequenceNumber)).toBe(true);
      expect(Number.isInteger(e!.enqueuedTime) && e!.enqueuedTime > 0).toBe(true);
    });

    it('tells, where it can, how far a partition goes (its newest sequence number, at least the last handed) and lists the partitions a subscription holds', async () => {
      const t = await open();
      const { handed, subscription } = await t.recording(t.harness.consumerGroups[0]);
      const deviceId = uniqueDeviceId('newest');
      for (let n = 0; n < 3; n++) await t.send(deviceId, n);
      await t.handedAre(handed, deviceId, [0, 1, 2]);
      const last = handed.filter((h) => h.envelope.connectionDeviceId === deviceId).at(-1)!;
      // Optional capabilities: an intake that cannot tell says undefined, never a number behind what it handed.
      const newest = last.partition.lastEnqueuedSequenceNumber?.();
      if (newest !== undefined) expect(newest).toBeGreaterThanOrEqual(last.envelope.sequenceNumber);
      const held = subscription.partitions?.();
      if (held !== undefined) expect(held.map((p) => p.partitionId)).toContain(last.envelope.partitionId);
    });

    it('hands every batch of a partition, while the subscription holds it, with one context (a new context is a new claim)', async () => {
      const t = await open();
      const { handed, subscription } = await t.recording(t.harness.consumerGroups[0]);
      const deviceId = uniqueDeviceId('claim');
      for (let n = 0; n < 3; n++) {
        await t.send(deviceId, n);
        // One at a time: each message its own batch, as far as the intake can tell.
        await t.handedAre(
          handed,
          deviceId,
          Array.from({ length: n + 1 }, (_, i) => i),
        );
      }
      const contexts = new Set(handed.filter((h) => h.envelope.connectionDeviceId === deviceId).map((h) => h.partition));
      expect(contexts.size).toBe(1);
      const [context] = contexts;
      const held = subscription.partitions?.();
      if (held !== undefined) expect(held.find((p) => p.partitionId === context!.partitionId)).toBe(context);
    });

    it('keeps each device in one partition and its messages in order', async () => {
      const t = await open();
      const received: TelemetryEnvelope[] = [];
      await t.subscribe(t.harness.consumerGroups[0], async (batch) => void received.push(...batch));
      const devices = [uniqueDeviceId('a'), uniqueDeviceId('b'), uniqueDeviceId('c')];
      for (let n = 0; n < 20; n++) for (const d of devices) await t.send(d, n);
      await eventually(() => devices.forEach((d) => expect(t.of(received, d)).toHaveLength(20)), t.patience);
      for (const d of devices) {
        const mine = t.of(received, d);
        expect(mine.map((e) => bodyOf(e).n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(new Set(mine.map((e) => e.partitionId)).size).toBe(1);
        const sequence = mine.map((e) => e.sequenceNumber);
        expect(sequence).toEqual([...sequence].sort((x, y) => x - y));
      }
    });

    it('gives every partition its turn: a backlog in the partition read first, its handler slow, does not hold back a message of another', async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const { devices, partitionOf, ids } = await t.spread(12);
      // The first partition, in the hub's order, that one of the devices sends to (not every partition gets one of 12 devices).
      const first = ids.find((id) => devices.some((d) => partitionOf.get(d) === id));
      const busy = devices.find((d) => partitionOf.get(d) === first);
      const quiet = devices.find((d) => partitionOf.get(d) !== first);
      expect(busy).toBeDefined();
      expect(quiet).toBeDefined();
      // The group reads on from here once it is open again; meanwhile a backlog of many batches builds up in one partition.
      const before = await t.recording(group);
      for (const d of [busy!, quiet!]) {
        await t.send(d, 0);
        await t.handedAre(before.handed, d, [0]);
        await markThrough(before.handed, d, 0);
      }
      await before.subscription.close();
      const backlog = 600;
      for (let n = 1; n <= backlog; n++) await t.send(busy!, n);
      await t.send(quiet!, 1);
      // The backlog's handler is slow: it holds its batch until the other partition's message is in, or the test's
      // patience is over. Where a subscription reads one partition at a time, that message waits behind the backlog;
      // where each partition is read on its own, it comes however late the hub claims its partition.
      let quietIn!: () => void;
      const quietSeen = new Promise<void>((resolve) => (quietIn = resolve));
      let slow: Promise<void> | undefined;
      const handed: Handed[] = [];
      await t.subscribe(group, async (batch, partition) => {
        handed.push(...batch.map((envelope) => ({ envelope, partition })));
        if (t.of(batch, quiet!).length > 0) quietIn();
        if (t.of(batch, busy!).length > 0) await (slow ??= Promise.race([quietSeen, new Promise<void>((resolve) => setTimeout(resolve, t.patience).unref())]));
      });
      await eventually(() => {
        expect(numbersOf(handed, busy!)).toHaveLength(backlog);
        expect(numbersOf(handed, quiet!)).toEqual([1]);
      }, t.patience);
      const at = (deviceId: string, n: number) => handed.findIndex((h) => h.envelope.connectionDeviceId === deviceId && bodyOf(h.envelope).n === n);
      expect(at(quiet!, 1)).toBeLessThan(at(busy!, backlog));
    });

    it("keeps handing the other partitions while one partition's batch keeps failing", async () => {
      const t = await open();
      const { devices, partitionOf } = await t.spread(12);
      const failing = devices[0]!;
      const other = devices.find((d) => partitionOf.get(d) !== partitionOf.get(failing));
      expect(other).toBeDefined();
      let failingUp = false;
      const settled: TelemetryEnvelope[] = [];
      await t.subscribe(t.harness.consumerGroups[1], async (batch) => {
        if (!failingUp && t.of(batch, failing).length > 0) throw new Error('downstream of this partition unavailable');
        settled.push(...batch);
      });
      await t.send(failing, 1);
      await t.send(other!, 1);
      await t.send(other!, 2);
      await eventually(() => expect(t.of(settled, other!).map((e) => bodyOf(e).n)).toEqual([1, 2]), t.patience);
      expect(t.of(settled, failing)).toEqual([]);
      failingUp = true;
      await eventually(() => expect(t.of(settled, failing).map((e) => bodyOf(e).n)).toEqual([1]), t.patience);
    });

    it('hands a batch over again when its handler fails: nothing is lost and the order is kept', async () => {
      const t = await open();
      const deviceId = uniqueDeviceId('retried');
      const settled: TelemetryEnvelope[] = [];
      let failuresLeft = 2;
      await t.subscribe(t.harness.consumerGroups[0], async (batch) => {
        if (t.of(batch, deviceId).length > 0 && failuresLeft > 0) {
          failuresLeft--;
          throw new Error('downstream unavailable');
        }
        settled.push(...batch);
      });
      for (let n = 0; n < 5; n++) await t.send(deviceId, n);
      await eventually(() => expect(t.of(settled, deviceId).map((e) => bodyOf(e).n)).toEqual([0, 1, 2, 3, 4]), t.patience);
      expect(failuresLeft).toBe(0);
    });

    it('serves every consumer group every message', async () => {
      const t = await open();
      const [g1, g2] = t.harness.consumerGroups;
      const first: TelemetryEnvelope[] = [];
      const second: TelemetryEnvelope[] = [];
      await t.subscribe(g1, async (batch) => void first.push(...batch));
      await t.subscribe(g2, async (batch) => void second.push(...batch));
      const deviceId = uniqueDeviceId('groups');
      for (let n = 0; n < 3; n++) await t.send(deviceId, n);
      await eventually(() => {
        expect(t.of(first, deviceId).map((e) => bodyOf(e).n)).toEqual([0, 1, 2]);
        expect(t.of(second, deviceId).map((e) => bodyOf(e).n)).toEqual([0, 1, 2]);
      }, t.patience);
    });

    it('resumes a consumer group from its checkpoint: what was sent while it was closed arrives, what it had settled does not', async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const deviceId = uniqueDeviceId('resume');
      const firstRun: TelemetryEnvelope[] = [];
      const s1 = await t.subscribe(group, async (batch) => void firstRun.push(...batch));
      await t.send(deviceId, 0);
      await t.send(deviceId, 1);
      await eventually(() => expect(t.of(firstRun, deviceId)).toHaveLength(2), t.patience);
      await s1.close();
      await t.send(deviceId, 2);
      await t.send(deviceId, 3);
      const secondRun: TelemetryEnvelope[] = [];
      await t.subscribe(group, async (batch) => void secondRun.push(...batch));
      await eventually(() => expect(t.of(secondRun, deviceId).map((e) => bodyOf(e).n)).toEqual([2, 3]), t.patience);
    });

    it('hands nothing more to a closed subscription', async () => {
      const t = await open();
      const deviceId = uniqueDeviceId('closed');
      const received: TelemetryEnvelope[] = [];
      const s = await t.subscribe(t.harness.consumerGroups[0], async (batch) => void received.push(...batch));
      await t.send(deviceId, 0);
      await eventually(() => expect(t.of(received, deviceId)).toHaveLength(1), t.patience);
      await s.close();
      await t.send(deviceId, 1);
      const marker: TelemetryEnvelope[] = [];
      await t.subscribe(t.harness.consumerGroups[0], async (batch) => void marker.push(...batch));
      await t.send(deviceId, 2);
      await eventually(() => expect(t.of(marker, deviceId).map((e) => bodyOf(e).n)).toContain(2), t.patience);
      expect(t.of(received, deviceId)).toHaveLength(1);
    });

    it('with partitions: hands over only the messages of those partitions, all of them, and lists only them', async () => {
      const t = await open();
      const { devices, partitionOf } = await t.spread(12);
      expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);
      const chosen = partitionOf.get(devices[0]!)!;
      const inChosen = devices.filter((d) => partitionOf.get(d) === chosen);
      const { handed, handler } = recorder();
      const subscription = await t.subscribe(t.harness.consumerGroups[1], handler, { partitions: [chosen] });
      for (const d of devices) await t.send(d, 1);
      await eventually(() => inChosen.forEach((d) => expect(numbersOf(handed, d)).toEqual([1])), t.patience);
      expect(handed.map((h) => h.envelope.partitionId)).toEqual(handed.map(() => chosen));
      expect(handed.map((h) => h.partition.partitionId)).toEqual(handed.map(() => chosen));
      expect(handed.map((h) => h.envelope.connectionDeviceId).sort()).toEqual([...inChosen].sort());
      const held = subscription.partitions?.();
      if (held !== undefined) expect(held.map((p) => p.partitionId)).toEqual([chosen]);
    });

    it('with partitions: two subscriptions of one group on disjoint partitions hand over every message once, each only its own, and each moves its own checkpoints', async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const { devices, ids } = await t.spread(12);
      expect(ids.length).toBeGreaterThan(1);
      const mine = ids.filter((_, i) => i % 2 === 0);
      const theirs = ids.filter((_, i) => i % 2 === 1);
      const a = recorder();
      const b = recorder();
      const first = await t.subscribe(group, a.handler, { partitions: mine });
      const second = await t.subscribe(group, b.handler, { partitions: theirs });
      for (const d of devices) await t.send(d, 1);
      await eventually(() => devices.forEach((d) => expect([...numbersOf(a.handed, d), ...numbersOf(b.handed, d)]).toEqual([1])), t.patience);
      expect(a.handed.filter((h) => !mine.includes(h.envelope.partitionId))).toEqual([]);
      expect(b.handed.filter((h) => !theirs.includes(h.envelope.partitionId))).toEqual([]);
      expect(a.handed.length + b.handed.length).toBe(devices.length);
      // Each checkpointed its own partitions: a subscription of the group over every partition reads on from there.
      await first.close();
      await second.close();
      for (const d of devices) await t.send(d, 2);
      const after: TelemetryEnvelope[] = [];
      await t.subscribe(group, async (batch) => void after.push(...batch));
      await eventually(() => devices.forEach((d) => expect(t.of(after, d).map((e) => bodyOf(e).n)).toEqual([2])), t.patience);
    });

    it('lists, where it can, the partition ids the hub hands messages from, the same on every call, and each is one a subscription takes', async () => {
      const t = await open();
      const listed = await t.harness.intake.partitionIds?.();
      if (listed === undefined) return;
      const { ids } = await t.spread(12);
      expect(listed.length).toBe(new Set(listed).size);
      for (const id of ids) expect(listed).toContain(id);
      expect(await t.harness.intake.partitionIds!()).toEqual(listed);
      const { handed, handler } = recorder();
      const deviceId = uniqueDeviceId('listed');
      await t.subscribe(t.harness.consumerGroups[1], handler, { partitions: listed });
      await t.send(deviceId, 1);
      await eventually(() => expect(numbersOf(handed, deviceId)).toEqual([1]), t.patience);
    });

    it('with partitions: refuses a partition the hub does not have, naming it, and an empty list', async () => {
      const t = await open();
      const { ids } = await t.spread(4);
      const group = t.harness.consumerGroups[1];
      const refused = await t
        .subscribe(group, async () => undefined, { partitions: [ids[0]!, 'no-such-partition'] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(refused).toBeInstanceOf(RangeError);
      expect((refused as Error).message).toContain('no-such-partition');
      for (const id of ids) expect((refused as Error).message).toContain(id);
      await expect(t.subscribe(group, async () => undefined, { partitions: [] })).rejects.toThrow(RangeError);
    });

    it('by-handler: a new subscription starts right after the last envelope the handler marked, not after the last batch it was handed', async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const deviceId = uniqueDeviceId('marked');
      const first = await t.recording(group);
      for (let n = 0; n < 4; n++) await t.send(deviceId, n);
      await t.handedAre(first.handed, deviceId, [0, 1, 2, 3]);
      await markThrough(first.handed, deviceId, 1);
      await first.subscription.close();
      const second = await t.recording(group);
      await t.send(deviceId, 4);
      // 4 was sent after subscribe resolved: once it is here, whatever was read again came before it.
      await t.handedAre(second.handed, deviceId, [2, 3, 4]);
    });

    it('refuses a mark through an envelope it did not hand over from that partition, naming the partition', async () => {
      const t = await open();
      const deviceId = uniqueDeviceId('foreign-mark');
      const got = await t.recording(t.harness.consumerGroups[1]);
      await t.send(deviceId, 0);
      await t.handedAre(got.handed, deviceId, [0]);
      const { envelope, partition } = got.handed.find((h) => h.envelope.connectionDeviceId === deviceId)!;
      await expect(partition.checkpoint({ ...envelope, partitionId: `${envelope.partitionId}-elsewhere` })).rejects.toThrow(
        `partition ${partition.partitionId}`,
      );
    });

    it('by-handler: a mark given after the subscription closed counts, and a mark behind the current checkpoint changes nothing', async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const deviceId = uniqueDeviceId('late-mark');
      const first = await t.recording(group);
      for (let n = 0; n < 5; n++) await t.send(deviceId, n);
      await t.handedAre(first.handed, deviceId, [0, 1, 2, 3, 4]);
      await markThrough(first.handed, deviceId, 1);
      await markThrough(first.handed, deviceId, 0); // behind: changes nothing
      await first.subscription.close();
      await markThrough(first.handed, deviceId, 3); // the last mark, at shutdown
      await markThrough(first.handed, deviceId, 2); // behind: changes nothing
      const second = await t.recording(group);
      await t.send(deviceId, 5);
      await t.handedAre(second.handed, deviceId, [4, 5]);
    });

    it("by-handler: a late mark of a closed subscription never moves the checkpoint back past a newer subscription's mark", async () => {
      const t = await open();
      const group = t.harness.consumerGroups[1];
      const deviceId = uniqueDeviceId('stale-mark');
      const first = await t.recording(group);
      for (let n = 0; n < 4; n++) await t.send(deviceId, n);
      await t.handedAre(first.handed, deviceId, [0, 1, 2, 3]);
      await markThrough(first.handed, deviceId, 0);
      await first.subscription.close();
      const second = await t.recording(group);
      await t.handedAre(second.handed, deviceId, [1, 2, 3]);
      await markThrough(second.handed, deviceId, 3);
      await second.subscription.close();
      await markThrough(first.handed, deviceId, 2); // the first subscription's, behind the second's
      const third = await t.recording(group);
      await t.send(deviceId, 4);
      await t.handedAre(third.handed, deviceId, [4]);
    });

    it('by-handler: a failed batch is handed again as it was, and nothing before it (no rewind to the checkpoint far behind)', async () => {
      const t = await open();
      const deviceId = uniqueDeviceId('by-handler-retried');
      const attempts: { readonly sequence: readonly number[]; failed: boolean }[] = [];
      const settled: number[] = [];
      let failuresLeft = 0;
      await t.subscribe(
        t.harness.consumerGroups[0],
        async (batch) => {
          const mine = t.of(batch, deviceId);
          if (mine.length === 0) return;
          const attempt = { sequence: batch.map((e) => e.sequenceNumber), failed: failuresLeft > 0 };
          attempts.push(attempt);
          if (attempt.failed) {
            failuresLeft--;
            throw new Error('downstream unavailable');
          }
          settled.push(...mine.map((e) => bodyOf(e).n));
        },
        BY_HANDLER,
      );
      await t.send(deviceId, 0);
      await t.send(deviceId, 1);
      await eventually(() => expect(settled).toEqual([0, 1]), t.patience);
      failuresLeft = 2; // nothing was marked: the checkpoint is still before 0
      for (let n = 2; n < 5; n++) await t.send(deviceId, n);
      await eventually(() => expect(settled).toEqual([0, 1, 2, 3, 4]), t.patience);
      expect(failuresLeft).toBe(0);
      attempts.forEach((attempt, i) => {
        if (attempt.failed) expect(attempts[i + 1]?.sequence).toEqual(attempt.sequence);
      });
    });
  });
}
