// Benchmark (run on demand, not a test): what batching buys the Service Bus queue adapter.
// Sends the same messages one call per message (baseline) and in one call (batched envelopes),
// over AMQP to the stand-in on loopback, and prints messages per second and the ratio.
// Run: npm run bench:service-bus -w @fieldlink/bench [-- messages]
import { randomUUID } from 'node:crypto';
import { ServiceBusQueue } from '@fieldlink/adapter-azure';
import { ServiceBusStandin } from '@fieldlink/azure-standins';

const count = Number(process.argv[2] ?? 2_000);
const body = new TextEncoder().encode(
  JSON.stringify([{ deviceid: 'thermostat-1', readingtype: 'Temperature', reading: 86, threshold: 70, ruleoutput: 'AlarmTemp' }]),
);
const standin = await new ServiceBusStandin().start();

async function run(label: string, send: (queue: ServiceBusQueue, ids: string[]) => Promise<void>): Promise<number> {
  const queueName = `bench-${randomUUID().slice(0, 8)}`;
  standin.createQueue(queueName);
  const queue = new ServiceBusQueue({ auth: { connectionString: standin.connectionString }, queueName });
  await queue.send([{ messageId: 'warm-up', body }]);
  const ids = Array.from({ length: count }, () => randomUUID());
  const started = performance.now();
  await send(queue, ids);
  const seconds = (performance.now() - started) / 1000;
  await queue.close();
  if (standin.counts(queueName).active !== count + 1) throw new Error(`${label}: the queue holds ${standin.counts(queueName).active}, expected ${count + 1}`);
  const rate = count / seconds;
  console.log(`${label.padEnd(28)} ${count} messages in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} msg/s`);
  return rate;
}

const single = await run('one send per message', async (queue, ids) => {
  for (const id of ids) await queue.send([{ messageId: id, body }]);
});
const batched = await run('one send, batched envelopes', async (queue, ids) => queue.send(ids.map((id) => ({ messageId: id, body }))));
console.log(`batched / one-by-one: ${(batched / single).toFixed(1)}x`);
await standin.stop();
