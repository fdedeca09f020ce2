import type { DeliveryFeedbackStatus } from '@fieldlink/domain';
import { afterEach, describe, expect, it } from 'vitest';
import {
  C2D_MAX_BYTES,
  C2D_MAX_PENDING_PER_DEVICE,
  type CloudToDeviceMessage,
  type CloudToDevicePort,
  type DeliveryFeedback,
  type FeedbackSubscription,
} from '../cloud-to-device-port.js';
import type { DeviceClientPort, DeviceConnection, DeviceMessageOutcome, ReceivedCloudToDeviceMessage } from '../device-client-port.js';
import { eventually, newGuid, textOf, uniqueDeviceId, utf8 } from './conformance-support.js';

export interface CloudToDeviceUnderTest {
  readonly cloudToDevice: CloudToDevicePort;
  /** Plays the device side: receives the messages and completes, rejects or abandons them. */
  readonly devices: DeviceClientPort;
  /** Creates the device in the hub (enabled), so messages can be sent to it. */
  registerDevice(deviceId: string): Promise<void>;
  /** The hub's maximum delivery count of a cloud-to-device message (IoT Hub's default is 10). */
  readonly maxDeliveryCount: number;
  /** Lets time pass for the hub: a manual clock moves, or a real hub is waited on. */
  advanceTime(ms: number): Promise<void>;
  dispose(): Promise<void>;
  /** How long to wait for feedback or a delivery, in real time; 10 s when not given. */
  readonly patienceMs?: number;
  /** How long the hub keeps a message locked for a device that went away without settling it (IoT Hub: 60 s). */
  readonly deviceLockTimeoutMs?: number;
}

export type CloudToDeviceFactory = () => Promise<CloudToDeviceUnderTest>;

/** A short time to live, so an expiry test against a real hub stays quick. */
const SHORT_TTL_MS = 2_000;

/**
 * What every CloudToDevicePort adapter must do (flows 16–19), played against a device through
 * DeviceClientPort: at-least-once delivery in order per device, messages kept for a device that is
 * offline, delivery feedback correlated by the original message id (Success, Rejected, Expired,
 * DeliveryCountExceeded), redelivery of abandoned messages, feedback again when its handler
 * fails, at most 50 pending messages per device, and clear errors for unknown devices and
 * oversized bodies.
 */
export function cloudToDeviceConformance(adapterName: string, factory: CloudToDeviceFactory): void {
  describe(`${adapterName} conforms to CloudToDevicePort`, () => {
    let current: CloudToDeviceUnderTest | undefined;
    const closers: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      await current?.dispose();
      current = undefined;
    });

    const open = async (options: { readonly collectFeedback?: boolean } = {}) => {
      const harness = (current = await factory());
      const patience = harness.patienceMs ?? 10_000;
      const feedback: DeliveryFeedback[] = [];
      if (options.collectFeedback !== false) {
        const subscription: FeedbackSubscription = await harness.cloudToDevice.subscribeFeedback(async (batch) => {
          feedback.push(...batch);
        });
        closers.push(() => subscription.close());
      }
      const feedbackFor = (messageId: string, status: DeliveryFeedbackStatus) =>
        eventually(() => {
          const found = feedback.find((f) => f.originalMessageId === messageId);
          expect(found, `feedback for ${messageId}`).toBeDefined();
          expect(found!.status).toBe(status);
          return found!;
        }, patience);
      const newDevice = async (prefix: string): Promise<string> => {
        const deviceId = uniqueDeviceId(prefix);
        await harness.registerDevice(deviceId);
        return deviceId;
      };
      /** Connects as the device and answers each message with `decide`; records what arrived. */
      const playDevice = async (deviceId: string, decide: (m: ReceivedCloudToDeviceMessage, seen: number) => DeviceMessageOutcome) => {
        const received: ReceivedCloudToDeviceMessage[] = [];
        const connection: DeviceConnection = await harness.devices.connect(deviceId);
        closers.push(() => connection.close());
        connection.onCloudToDeviceMessage(async (m) => {
          received.push(m);
          return decide(m, received.filter((r) => r.messageId === m.messageId).length);
        });
        return { received, connection };
      };
      const message = (deviceId: string, overrides: Partial<CloudToDeviceMessage> = {}): CloudToDeviceMessage => ({
        messageId: newGuid(),
        deviceId,
        body: utf8('{"CommandName":"Reset Thermostat","Parameters":{}}'),
        ...overrides,
      });
      return { harness, patience, feedback, feedbackFor, newDevice, playDevice, message };
    };

    it('delivers a message with its id, body, correlation id and properties, and reports Success by the original message id', async () => {
      const t = await open();
      const deviceId = await t.newDevice("thermostat'c2d");
      const device = await t.playDevice(deviceId, () => 'complete');
      const sent = t.message(deviceId, {
        correlationId: 'corr-1',
        properties: { commandName: 'Set Values' },
        body: utf8('{"CommandName":"Set Values","Parameters":{"Reading":{"Temperature":"30"}}}'),
      });
      expect(await t.harness.cloudToDevice.send(sent)).toEqual({ ok: true, value: undefined });
      const feedback = await t.feedbackFor(sent.messageId, 'Success');
      expect(feedback).toMatchObject({ originalMessageId: sent.messageId, deviceId, status: 'Success' });
      expect(typeof feedback.enqueuedTime).toBe('number');
      expect(device.received).toHaveLength(1);
      expect(device.received[0]).toMatchObject({ messageId: sent.messageId, correlationId: 'corr-1', properties: { commandName: 'Set Values' } });
      expect(textOf(device.received[0]!.body)).toBe(textOf(sent.body));
    });

    it('keeps the messages of a device that is not connected and delivers them in order when it connects', async () => {
      const t = await open();
      const deviceId = await t.newDevice('offline');
      const sent = [t.message(deviceId, { body: utf8('first') }), t.message(deviceId, { body: utf8('second') }), t.message(deviceId, { body: utf8('third') })];
      for (const m of sent) expect((await t.harness.cloudToDevice.send(m)).ok).toBe(true);
      const device = await t.playDevice(deviceId, () => 'complete');
      for (const m of sent) await t.feedbackFor(m.messageId, 'Success');
      expect(device.received.map((m) => textOf(m.body))).toEqual(['first', 'second', 'third']);
    });

    it('reports Rejected for a message the device rejects, and never delivers it again', async () => {
      const t = await open();
      const deviceId = await t.newDevice('rejecting');
      const device = await t.playDevice(deviceId, (m) => (textOf(m.body) === 'unwanted' ? 'reject' : 'complete'));
      const unwanted = t.message(deviceId, { body: utf8('unwanted') });
      const marker = t.message(deviceId, { body: utf8('marker') });
      await t.harness.cloudToDevice.send(unwanted);
      await t.feedbackFor(unwanted.messageId, 'Rejected');
      await t.harness.cloudToDevice.send(marker);
      await t.feedbackFor(marker.messageId, 'Success');
      expect(device.received.map((m) => textOf(m.body))).toEqual(['unwanted', 'marker']);
    });

    it('delivers an abandoned message again, and reports DeliveryCountExceeded after the maximum delivery count', async () => {
      const t = await open();
      const deviceId = await t.newDevice('abandoning');
      const device = await t.playDevice(deviceId, (m) => (textOf(m.body) === 'once' ? 'complete' : 'abandon'));
      const comesBack = t.message(deviceId, { body: utf8('always abandoned') });
      await t.harness.cloudToDevice.send(comesBack);
      await t.feedbackFor(comesBack.messageId, 'DeliveryCountExceeded');
      expect(device.received.filter((m) => m.messageId === comesBack.messageId)).toHaveLength(t.harness.maxDeliveryCount);
    });

    it('completes a message delivered again after one abandon, with Success', async () => {
      const t = await open();
      const deviceId = await t.newDevice('second-try');
      const device = await t.playDevice(deviceId, (_m, seen) => (seen === 1 ? 'abandon' : 'complete'));
      const m = t.message(deviceId);
      await t.harness.cloudToDevice.send(m);
      await t.feedbackFor(m.messageId, 'Success');
      expect(device.received.map((r) => r.messageId)).toEqual([m.messageId, m.messageId]);
    });

    it('delivers again a message whose device went away before settling it', async () => {
      const t = await open();
      const deviceId = await t.newDevice('went-away');
      const first = await t.harness.devices.connect(deviceId);
      const arrived: string[] = [];
      first.onCloudToDeviceMessage((m) => {
        arrived.push(m.messageId);
        return new Promise<DeviceMessageOutcome>(() => undefined);
      });
      const m = t.message(deviceId);
      await t.harness.cloudToDevice.send(m);
      await eventually(() => expect(arrived).toEqual([m.messageId]), t.patience);
      await first.close();
      await t.harness.advanceTime((t.harness.deviceLockTimeoutMs ?? 60_000) + 1_000);
      const again = await t.playDevice(deviceId, () => 'complete');
      await t.feedbackFor(m.messageId, 'Success');
      expect(again.received.map((r) => r.messageId)).toEqual([m.messageId]);
    });

    it('expires a message not taken within its time to live, with Expired feedback, and never delivers it', async () => {
      const t = await open();
      const deviceId = await t.newDevice('expiring');
      const stale = t.message(deviceId, { body: utf8('stale'), ttlMs: SHORT_TTL_MS });
      await t.harness.cloudToDevice.send(stale);
      await t.harness.advanceTime(SHORT_TTL_MS + 1_000);
      await t.feedbackFor(stale.messageId, 'Expired');
      const device = await t.playDevice(deviceId, () => 'complete');
      const fresh = t.message(deviceId, { body: utf8('fresh') });
      await t.harness.cloudToDevice.send(fresh);
      await t.feedbackFor(fresh.messageId, 'Success');
      expect(device.received.map((m) => textOf(m.body))).toEqual(['fresh']);
    });

    it(`refuses the message after ${C2D_MAX_PENDING_PER_DEVICE} pending for one device with DeviceQueueFull, and only for that device`, async () => {
      const t = await open();
      const full = await t.newDevice('full');
      const other = await t.newDevice('other');
      for (let i = 0; i < C2D_MAX_PENDING_PER_DEVICE; i++) expect((await t.harness.cloudToDevice.send(t.message(full, { body: utf8(`m${i}`) }))).ok).toBe(true);
      const refused = await t.harness.cloudToDevice.send(t.message(full));
      expect(refused).toMatchObject({ ok: false, error: { code: 'DeviceQueueFull' } });
      expect(!refused.ok && refused.error.message).toEqual(expect.stringMatching(/\S/));
      expect((await t.harness.cloudToDevice.send(t.message(other))).ok).toBe(true);
      const device = await t.playDevice(full, () => 'complete');
      await eventually(() => expect(device.received).toHaveLength(C2D_MAX_PENDING_PER_DEVICE), t.patience);
      await eventually(async () => expect((await t.harness.cloudToDevice.send(t.message(full, { body: utf8('after') }))).ok).toBe(true), t.patience);
    });

    it('refuses a message for a device the hub does not know with DeviceNotFound', async () => {
      const t = await open();
      expect(await t.harness.cloudToDevice.send(t.message(uniqueDeviceId('nobody')))).toMatchObject({ ok: false, error: { code: 'DeviceNotFound' } });
    });

    it(`refuses a body over ${C2D_MAX_BYTES} bytes with MessageTooLarge`, async () => {
      const t = await open();
      const deviceId = await t.newDevice('large');
      expect(await t.harness.cloudToDevice.send(t.message(deviceId, { body: new Uint8Array(C2D_MAX_BYTES + 1) }))).toMatchObject({
        ok: false,
        error: { code: 'MessageTooLarge' },
      });
    });

    it('hands feedback over again when its handler fails', async () => {
      const t = await open({ collectFeedback: false });
      const deviceId = await t.newDevice('feedback-retry');
      let failuresLeft = 1;
      const settled: DeliveryFeedback[] = [];
      const flaky = await t.harness.cloudToDevice.subscribeFeedback(async (batch) => {
        if (batch.some((f) => f.deviceId === deviceId) && failuresLeft > 0) {
          failuresLeft--;
          throw new Error('store unavailable');
        }
        settled.push(...batch);
      });
      closers.push(() => flaky.close());
      await t.playDevice(deviceId, () => 'complete');
      const m = t.message(deviceId);
      await t.harness.cloudToDevice.send(m);
      await eventually(() => expect(settled.find((f) => f.originalMessageId === m.messageId)).toMatchObject({ status: 'Success' }), t.patience);
      expect(failuresLeft).toBe(0);
    });
  });
}
