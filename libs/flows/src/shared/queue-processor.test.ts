import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import type { LogFields, LogPort, MessageQueuePort, ReceivedQueueMessage } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { QueueProcessor } from './queue-processor.js';

function recordingLog(): LogPort & { events: Array<{ event: string; fields: LogFields }> } {
  const events: Array<{ event: string; fields: LogFields }> = [];
  const push = (event: string, fields: LogFields = {}) => void events.push({ event, fields });
  return { events, info: push, warn: push, error: push };
}

describe('QueueProcessor back-off', () => {
  // A test that fails before its own stop() leaves no receive loop running into the next one.
  const started: QueueProcessor[] = [];
  afterEach(async () => {
    for (const processor of started.splice(0)) await processor.stop();
  });

  it('holds a failing message before each abandon for a wait that grows with its delivery count, up to the cap', async () => {
    const queue = new InMemoryQueue('failing', { maxDeliveryCount: 5, lockDurationMs: 60_000 });
    await queue.send([{ messageId: 'm-1', body: new TextEncoder().encode('{}') }]);
    const log = recordingLog();
    const processor = new QueueProcessor(queue, async () => Promise.reject(new Error('CRM unavailable')), log, {
      maxWaitMs: 20,
      abandonBackoff: { baseMs: 10, maxMs: 40 },
      random: () => 0.99,
    });
    processor.start();
    started.push(processor);
    await eventually(async () => expect(await queue.peekDeadLetters(10)).toHaveLength(1));
    await processor.stop();
    const held = log.events.filter((e) => e.event === 'queue.message-abandoned').map((e) => [e.fields['deliveryCount'], e.fields['heldMs']]);
    // 0.99 of (ceiling + 1), floored: ceilings 10, 20, 40, 40, 40.
    expect(held).toEqual([
      [1, 10],
      [2, 20],
      [3, 40],
      [4, 40],
      [5, 40],
    ]);
  });

  it('waits longer after each failed receive, and starts over once a receive works', async () => {
    let calls = 0;
    const failing: MessageQueuePort = {
      name: 'unreachable',
      send: async () => undefined,
      receive: async (): Promise<ReceivedQueueMessage[]> => {
        calls++;
        if (calls <= 3 || (calls >= 5 && calls <= 6)) throw new Error('connect ECONNREFUSED');
        // A reachable queue with nothing in it waits before it answers.
        await new Promise((resolve) => setTimeout(resolve, 5));
        return [];
      },
      complete: async () => undefined,
      abandon: async () => undefined,
      deadLetter: async () => undefined,
      renewLock: async () => undefined,
      peekDeadLetters: async () => [],
      close: async () => undefined,
    };
    const log = recordingLog();
    const processor = new QueueProcessor(failing, async () => ({ kind: 'complete' }), log, { receiveBackoff: { baseMs: 8, maxMs: 1_000 }, random: () => 0.5 });
    processor.start();
    started.push(processor);
    await eventually(() => expect(calls).toBeGreaterThanOrEqual(7));
    await processor.stop();
    const waits = log.events.filter((e) => e.event === 'queue.receive-failed').map((e) => e.fields['retryInMs']);
    expect(waits).toEqual([4, 8, 16, 4, 8]);
  });

  it('goes on receiving when a settlement fails with a lost connection instead of a queue error: the message comes back, the loop does not stop', async () => {
    const queue = new InMemoryQueue('flaky', { lockDurationMs: 200 });
    let failNext = true;
    const complete = queue.complete.bind(queue);
    queue.complete = async (message) => {
      if (failNext) {
        failNext = false;
        throw new Error('Unknown error occurred on the AMQP connection');
      }
      return complete(message);
    };
    await queue.send([{ messageId: 'a', body: new TextEncoder().encode('{}') }]);
    const handled: string[] = [];
    const log = recordingLog();
    const processor = new QueueProcessor(queue, async (m) => (handled.push(m.messageId), { kind: 'complete' }), log, { maxWaitMs: 20 });
    processor.start();
    started.push(processor);
    await eventually(() => expect(handled).toEqual(['a', 'a']));
    await queue.send([{ messageId: 'b', body: new TextEncoder().encode('{}') }]);
    await eventually(() => expect(handled).toEqual(['a', 'a', 'b']));
    await processor.stop();
    expect(log.events.find((e) => e.event === 'queue.settle-failed')?.fields).toMatchObject({
      messageId: 'a',
      error: 'Unknown error occurred on the AMQP connection',
    });
  });
});

describe('QueueProcessor concurrency', () => {
  const bodyOf = (): Uint8Array => new TextEncoder().encode('{}');

  it('handles up to `concurrency` messages side by side and never more, so a slow handler does not hold back the others', async () => {
    const queue = new InMemoryQueue('busy', { lockDurationMs: 60_000 });
    await queue.send(Array.from({ length: 12 }, (_, i) => ({ messageId: `m-${i}`, body: bodyOf() })));
    let running = 0;
    let most = 0;
    const done: string[] = [];
    const processor = new QueueProcessor(
      queue,
      async (m) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
        done.push(m.messageId);
        return { kind: 'complete' };
      },
      recordingLog(),
      { concurrency: 4, maxWaitMs: 20 },
    );
    processor.start();
    // Stopped however the test ends: a failed assertion leaves no receive loop running into the next test.
    onTestFinished(() => processor.stop());
    await eventually(() => expect(done).toHaveLength(12));
    await processor.stop();
    expect(most).toBe(4);
    expect(new Set(done).size).toBe(12);
  });

  it('counts a message held before its abandon against the concurrency, and goes on when an adapter with no room answers at once with nothing', async () => {
    // As the Service Bus adapter does: it hands out no more than `concurrency` locked messages, and answers [] at once when full.
    const inner = new InMemoryQueue('limited', { lockDurationMs: 60_000, maxDeliveryCount: 10 });
    let locked = 0;
    const limited: MessageQueuePort = {
      name: 'limited',
      send: (m) => inner.send(m),
      receive: async (options) => {
        if (locked >= 1) return [];
        const got = await inner.receive({ ...options, maxMessages: 1 });
        locked += got.length;
        return got;
      },
      complete: async (m) => (locked--, inner.complete(m)),
      abandon: async (m) => (locked--, inner.abandon(m)),
      deadLetter: async (m, d) => (locked--, inner.deadLetter(m, d)),
      renewLock: (m) => inner.renewLock(m),
      peekDeadLetters: (n) => inner.peekDeadLetters(n),
      close: () => inner.close(),
    };
    await limited.send([{ messageId: 'fails-once', body: bodyOf() }]);
    await limited.send([{ messageId: 'fine', body: bodyOf() }]);
    const completed: string[] = [];
    let failed = false;
    const processor = new QueueProcessor(
      limited,
      async (m) => {
        if (m.messageId === 'fails-once' && !failed) {
          failed = true;
          throw new Error('CRM unavailable');
        }
        completed.push(m.messageId);
        return { kind: 'complete' };
      },
      recordingLog(),
      { concurrency: 1, maxWaitMs: 20, abandonBackoff: { baseMs: 30, maxMs: 30 }, random: () => 0.5 },
    );
    processor.start();
    // Stopped however the test ends: a failed assertion leaves no receive loop running into the next test.
    onTestFinished(() => processor.stop());
    // The held message's timer must fire: a loop spinning on empty receives would starve it for ever.
    await eventually(() => expect([...completed].sort()).toEqual(['fails-once', 'fine']));
  });

  it('keeps the listeners on the abort signal it gives its receives bounded by what it holds, however many receives and held abandons', async () => {
    // The signal lives as long as the processor: a listener left per receive or per held message would pile up (MaxListenersExceededWarning).
    const inner = new InMemoryQueue('poison', { lockDurationMs: 60_000, maxDeliveryCount: 6 });
    const concurrency = 3;
    let receives = 0;
    let mostListeners = 0;
    const counting: MessageQueuePort = {
      name: 'poison',
      send: (m) => inner.send(m),
      receive: async (options) => {
        receives += 1;
        if (options.signal) mostListeners = Math.max(mostListeners, getEventListeners(options.signal, 'abort').length);
        return inner.receive(options);
      },
      complete: (m) => inner.complete(m),
      abandon: (m) => inner.abandon(m),
      deadLetter: (m, d) => inner.deadLetter(m, d),
      renewLock: (m) => inner.renewLock(m),
      peekDeadLetters: (n) => inner.peekDeadLetters(n),
      close: () => inner.close(),
    };
    await counting.send(['a', 'b', 'c', 'd', 'e'].map((id) => ({ messageId: id, body: bodyOf() })));
    const processor = new QueueProcessor(counting, async () => Promise.reject(new Error('CRM unavailable')), recordingLog(), {
      concurrency,
      maxWaitMs: 5,
      abandonBackoff: { baseMs: 5, maxMs: 10 },
      random: () => 0.5,
    });
    processor.start();
    onTestFinished(() => processor.stop());
    // Every message abandoned until the queue dead-letters it: 25 held abandons, and empty receives while they wait.
    await eventually(async () => expect(await inner.peekDeadLetters(10)).toHaveLength(5));
    await eventually(() => expect(receives).toBeGreaterThan(50));
    // The loop's own stop listener, and one per message held for its abandon back-off.
    expect(mostListeners).toBeLessThanOrEqual(1 + concurrency);
  });
});
