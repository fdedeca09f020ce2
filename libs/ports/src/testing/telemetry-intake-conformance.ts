import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceTelemetryPort, TelemetryEnvelope, TelemetryIntakePort, TelemetrySubscription } from '../telemetry-intake-port.js';
import { eventually, textOf, uniqueDeviceId, utf8 } from './conformance-support.js';

export interface TelemetryIntakeUnderTest {
  readonly intake: TelemetryIntakePort;
  /** Plays the devices: sends device-to-cloud messages into the stream the intake reads. */
  readonly devices: DeviceTelemetryPort;
  /** Two distinct consumer groups of the stream (e.g. `rules` and `telemetry`). */
  readonly consumerGroups: readonly [string, string];
  dispose(): Promise<void>;
  /** How long to wait for messages, in real time; 10 s when not given. */
  readonly patienceMs?: number;
}

export type TelemetryIntakeFactory = () => Promise<TelemetryIntakeUnderTest>;

type Body = { readonly DeviceID: string; readonly n: number };
const bodyOf = (e: TelemetryEnvelope): Body => JSON.parse(textOf(e.body)) as Body;

/**
 * What every TelemetryIntakePort adapter must do (flow 3): hand over each message sent after
 * `subscribe` resolved with the device id the hub authenticated, its enqueued time, partition and
 * sequence number; keep one device in one partition and in order; give a failed batch again
 * (nothing lost, order kept); serve every consumer group every message; and resume a consumer
 * group from its checkpoint after it was closed.
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
      const subscribe = async (group: string, handler: (batch: readonly TelemetryEnvelope[]) => Promise<void>) => {
        const s = await harness.intake.subscribe(group, handler);
        subscriptions.push(s);
        return s;
      };
      const send = (deviceId: string, n: number, properties?: Record<string, string>) => harness.devices.send(deviceId, utf8(JSON.stringify({ DeviceID: deviceId, n })), properties);
      const of = (received: readonly TelemetryEnvelope[], deviceId: string) => received.filter((e) => e.connectionDeviceId === deviceId);
      return { harness, patience, subscribe, send, of };
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
  });
}
