// A dropped Service Bus connection while the orchestrator's two queue processors read: what is
// sent after the drop must be handled once the clients have connected again, not delivered to a
// link of the dropped connection, locked there until its lock lapses, and again, and again.
import { randomUUID } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ServiceBusQueue } from '@fieldlink/adapter-azure';
import { QueueProcessor } from '@fieldlink/flows';
import { silentLog } from '@fieldlink/ports';
import { eventually } from '@fieldlink/ports/testing';
import { ServiceBusStandin } from '@fieldlink/azure-standins';

const LOCK_MS = 4_000;
const text = new TextEncoder();

/**
 * The two queues an orchestrator reads (alerts and outbound), each with its processor handling 8
 * messages at once; each processor stops, then its queue closes, when the test ends.
 */
async function orchestratorQueues(standin: ServiceBusStandin) {
  const handled = new Map<string, string[]>();
  const processors: QueueProcessor[] = [];
  const queues: ServiceBusQueue[] = [];
  for (const role of ['alerts', 'outbound']) {
    const queueName = `${role}-${randomUUID().slice(0, 8)}`;
    standin.createQueue(queueName, { lockDurationMs: LOCK_MS });
    // As the composition makes them: the configuration's 10 s operation timeout and 1 s retry delay.
    const queue = new ServiceBusQueue({
      auth: { connectionString: standin.connectionString },
      queueName,
      concurrency: 8,
      retry: { timeoutInMs: 10_000, retryDelayInMs: 1_000 },
    });
    handled.set(queueName, []);
    const processor = new QueueProcessor(
      queue,
      async (m) => {
        handled.get(queueName)!.push(`${m.messageId} (delivery ${m.deliveryCount})`);
        return { kind: 'complete' };
      },
      silentLog,
      { concurrency: 8, maxWaitMs: 1_000, receiveBackoff: { baseMs: 200, maxMs: 1_000 } },
    );
    processor.start();
    queues.push(queue);
    processors.push(processor);
    onTestFinished(async () => {
      await processor.stop();
      await queue.close();
    });
  }
  return { alerts: queues[0]!, outbound: queues[1]!, handled };
}

describe('Service Bus stand-in: a dropped connection under running queue processors', () => {
  it('a message sent after the drop is handled at its first delivery, on both queues, and nothing stays locked by the dropped links', async () => {
    // Each closes by its own handle when the test ends, whatever its outcome, the latest first.
    const standin = await new ServiceBusStandin().start();
    onTestFinished(() => standin.stop());
    const { alerts, outbound, handled } = await orchestratorQueues(standin);
    const sender = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName: outbound.name });
    const alertSender = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName: alerts.name });
    onTestFinished(() => sender.close());
    onTestFinished(() => alertSender.close());

    // Both processors read (their receivers hold link credit) before the fault, and have settled
    // what they handled: a completion still on its way when the connection drops is lost with it,
    // and the message comes back when its lock lapses, as with Service Bus (at-least-once).
    await sender.send([{ messageId: 'before', body: text.encode('1') }]);
    await alertSender.send([{ messageId: 'alert-before', body: text.encode('1') }]);
    await eventually(() => {
      expect(handled.get(outbound.name)).toEqual(['before (delivery 1)']);
      expect(handled.get(alerts.name)).toEqual(['alert-before (delivery 1)']);
      expect(standin.counts(outbound.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
      expect(standin.counts(alerts.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
    }, 20_000);

    expect(standin.dropConnections()).toBeGreaterThanOrEqual(4);
    await eventually(() => sender.send([{ messageId: 'after', body: text.encode('2') }]), 20_000, 200);
    await eventually(() => alertSender.send([{ messageId: 'alert-after', body: text.encode('2') }]), 20_000, 200);

    // Handled at its first delivery, to a receiver of the new connection. A message delivered to a
    // link of the dropped connection stays locked there until its lock lapses, and comes back
    // with a higher delivery count (or goes to the dead link again while that has credit).
    await eventually(
      () => {
        expect(handled.get(outbound.name)).toEqual(['before (delivery 1)', 'after (delivery 1)']);
        expect(handled.get(alerts.name)).toEqual(['alert-before (delivery 1)', 'alert-after (delivery 1)']);
      },
      40_000,
      100,
    );
    await eventually(() => {
      expect(standin.counts(outbound.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
      expect(standin.counts(alerts.name)).toEqual({ active: 0, deadLetters: 0, locked: 0 });
    });
  }, 120_000);
});
