import { afterEach, describe, expect, it } from 'vitest';
import { QueueError, type MessageQueuePort, type QueueMessage } from '../message-queue-port.js';

export interface QueueUnderTest {
  readonly queue: MessageQueuePort;
  /** Lets time pass for the queue: a manual clock moves, or a real queue is waited on. */
  advanceTime(ms: number): Promise<void>;
  dispose(): Promise<void>;
}

export interface QueueSettings {
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
}

export type QueueFactory = (settings: QueueSettings) => Promise<QueueUnderTest>;

const text = new TextEncoder();
const msg = (id: string, body = id): QueueMessage => ({ messageId: id, body: text.encode(body), contentType: 'application/json' });
const bodyOf = (m: { body: Uint8Array }): string => new TextDecoder().decode(m.body);
const settings: QueueSettings = { lockDurationMs: 5_000, maxDeliveryCount: 3 };

/**
 * What every MessageQueuePort adapter must do, as the flows rely on it: first-in first-out
 * delivery, peek-lock (a locked message is hidden, complete removes it, abandon or lock expiry
 * brings it back with a higher delivery count), dead-lettering with reason and by maximum
 * delivery count, and duplicate detection on the message id.
 */
export function messageQueueConformance(adapterName: string, factory: QueueFactory): void {
  describe(`${adapterName} conforms to MessageQueuePort`, () => {
    let current: QueueUnderTest | undefined;
    const open = async (): Promise<QueueUnderTest> => (current = await factory(settings));
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('delivers messages in the order they were sent, with their properties', async () => {
      const { queue } = await open();
      await queue.send([msg('a'), msg('b')]);
      await queue.send([{ ...msg('c'), correlationId: 'corr-c', subject: 'alert', properties: { kind: 'test', n: 1 } }]);
      const got = await queue.receive({ maxMessages: 10, maxWaitMs: 1_000 });
      expect(got.map(bodyOf)).toEqual(['a', 'b', 'c']);
      expect(got[2]).toMatchObject({ messageId: 'c', correlationId: 'corr-c', subject: 'alert', properties: { kind: 'test', n: 1 }, deliveryCount: 1 });
    });

    it('carries the content type and application properties a Dataverse service endpoint sets, URI keys and all', async () => {
      const { queue } = await open();
      const claims = 'http://schemas.microsoft.com/xrm/2011/Claims/';
      const properties = {
        [`${claims}Organization`]: 'https://contoso.crm.dynamics.com',
        [`${claims}User`]: '5e3b1a2c-9d8e-4f7a-8b6c-1a2b3c4d5e6f',
        [`${claims}InitiatingUser`]: '5e3b1a2c-9d8e-4f7a-8b6c-1a2b3c4d5e6f',
        [`${claims}EntityLogicalName`]: 'msdyn_iotdevicecommand',
        [`${claims}RequestName`]: 'Create',
        MessageMaxSizeExceeded: true,
      };
      await queue.send([{ messageId: 'xml', body: text.encode('<RemoteExecutionContext/>'), contentType: 'application/xml', properties }]);
      await queue.send([{ messageId: 'bin', body: Uint8Array.from([0x40, 0x01, 0x78, 0x01]), contentType: 'application/msbin1' }]);
      const got = await queue.receive({ maxMessages: 10, maxWaitMs: 1_000 });
      expect(got.map((m) => [m.messageId, m.contentType])).toEqual([
        ['xml', 'application/xml'],
        ['bin', 'application/msbin1'],
      ]);
      expect(got[0]!.properties).toEqual(properties);
      expect([...got[1]!.body]).toEqual([0x40, 0x01, 0x78, 0x01]);
    });

    it('hides a locked message from other receivers and removes it on complete', async () => {
      const { queue } = await open();
      await queue.send([msg('a')]);
      const [first] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 0 })).toEqual([]);
      await queue.complete(first!);
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 0 })).toEqual([]);
    });

    it('redelivers an abandoned message with a higher delivery count', async () => {
      const { queue } = await open();
      await queue.send([msg('a')]);
      const [first] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await queue.abandon(first!);
      const [again] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      expect(again).toMatchObject({ messageId: 'a', deliveryCount: 2 });
    });

    it('redelivers a message whose lock expired, and refuses to settle it with the old lock', async () => {
      const harness = await open();
      await harness.queue.send([msg('a')]);
      const [first] = await harness.queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await harness.advanceTime(settings.lockDurationMs + 1);
      const [again] = await harness.queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      expect(again).toMatchObject({ messageId: 'a', deliveryCount: 2 });
      await expect(harness.queue.complete(first!)).rejects.toSatisfy((e: unknown) => e instanceof QueueError && e.code === 'MessageLockLost');
      await harness.queue.complete(again!);
    });

    it('keeps a lock alive when it is renewed', async () => {
      const harness = await open();
      await harness.queue.send([msg('a')]);
      const [first] = await harness.queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await harness.advanceTime(settings.lockDurationMs * 0.6);
      await harness.queue.renewLock(first!);
      await harness.advanceTime(settings.lockDurationMs * 0.6);
      expect(await harness.queue.receive({ maxMessages: 1, maxWaitMs: 0 })).toEqual([]);
      await harness.queue.complete(first!);
    });

    it('dead-letters with the reason and description given', async () => {
      const { queue } = await open();
      await queue.send([msg('bad', '{"oops"')]);
      const [m] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await queue.deadLetter(m!, { reason: 'InvalidMessage', description: 'body: is not JSON' });
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 0 })).toEqual([]);
      const [dead] = await queue.peekDeadLetters(10);
      expect(dead).toMatchObject({ messageId: 'bad', reason: 'InvalidMessage', description: 'body: is not JSON', deliveryCount: 1 });
      expect(bodyOf(dead!)).toBe('{"oops"');
    });

    it('dead-letters by itself a message delivered the maximum number of times', async () => {
      const { queue } = await open();
      await queue.send([msg('poison')]);
      for (let i = 1; i <= settings.maxDeliveryCount; i++) {
        const [m] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
        expect(m?.deliveryCount).toBe(i);
        await queue.abandon(m!);
      }
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 0 })).toEqual([]);
      const [dead] = await queue.peekDeadLetters(10);
      expect(dead).toMatchObject({ messageId: 'poison', reason: 'MaxDeliveryCountExceeded' });
    });

    it('drops a message whose id was seen within the duplicate detection window', async () => {
      const { queue } = await open();
      await queue.send([msg('same', 'first')]);
      await queue.send([msg('same', 'second'), msg('other')]);
      const got = await queue.receive({ maxMessages: 10, maxWaitMs: 1_000 });
      expect(got.map(bodyOf)).toEqual(['first', 'other']);
    });

    it('hands over no more messages than asked for, and nothing after waiting on an empty queue', async () => {
      const { queue } = await open();
      await queue.send([msg('a'), msg('b'), msg('c')]);
      expect((await queue.receive({ maxMessages: 2, maxWaitMs: 1_000 })).map(bodyOf)).toEqual(['a', 'b']);
      expect((await queue.receive({ maxMessages: 2, maxWaitMs: 1_000 })).map(bodyOf)).toEqual(['c']);
      expect(await queue.receive({ maxMessages: 1, maxWaitMs: 50 })).toEqual([]);
    });

    it('keeps the properties of a dead-lettered message', async () => {
      const { queue } = await open();
      await queue.send([{ ...msg('props'), correlationId: 'corr-p', subject: 'alert', properties: { kind: 'test', n: 2 } }]);
      const [m] = await queue.receive({ maxMessages: 1, maxWaitMs: 1_000 });
      await queue.deadLetter(m!, { reason: 'InvalidMessage', description: 'because' });
      const dead = (await queue.peekDeadLetters(10)).find((d) => d.messageId === 'props');
      expect(dead).toMatchObject({ correlationId: 'corr-p', subject: 'alert', properties: { kind: 'test', n: 2 }, contentType: 'application/json' });
    });

    it('wakes a waiting receiver when a message arrives', async () => {
      const { queue } = await open();
      const pending = queue.receive({ maxMessages: 1, maxWaitMs: 5_000 });
      await queue.send([msg('late')]);
      expect((await pending).map(bodyOf)).toEqual(['late']);
    });
  });
}
