// Consumer side of flow 6: what the orchestrator's inbound alerts flow needs of an alerts-queue
// message. The example is the CFS alerts-queue fixture (what the CFS Stream Analytics job writes),
// so a stream processor that honours this pact is accepted where the CFS Logic App expects it.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryCrm, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertState, AlertStatus, AlertType, HUB_DEVICE_ID_PATTERN } from '@fieldlink/domain';
import { silentLog } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { InboundAlerts } from './inbound-alerts.js';
import { QueueProcessor } from '../shared/queue-processor.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { eachLike, like, number, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';
const fixture = JSON.parse(readFileSync(new URL('../../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8')) as Array<{
  deviceid: string;
  readingtype: string;
  reading: number;
  eventtoken: string;
  threshold: number;
  ruleoutput: string;
  time: string;
}>;
const cfsAlert = fixture[0]!;

const pact = new PactV4({ consumer: 'fieldlink-orchestrator', provider: 'fieldlink-stream-processor', dir: PACTS, logLevel: 'error' });

describe('orchestrator ← stream processor (flow 6)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-orchestrator-fieldlink-stream-processor.json`, { force: true }));

  it('creates the msdyn_iotalert with the CFS mapping from a CFS alerts-queue message and completes the message', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a device of a type with a threshold reads over it', {
        deviceId: cfsAlert.deviceid,
        readingType: cfsAlert.readingtype,
        reading: cfsAlert.reading,
        threshold: cfsAlert.threshold,
        ruleOutput: cfsAlert.ruleoutput,
      })
      .expectsToReceive('a CFS alerts-queue message', (b) =>
        b.withJSONContent(
          eachLike({
            deviceid: regex(HUB_DEVICE_ID_PATTERN.source, cfsAlert.deviceid),
            readingtype: like(cfsAlert.readingtype),
            reading: number(cfsAlert.reading),
            eventtoken: like(cfsAlert.eventtoken),
            threshold: number(cfsAlert.threshold),
            ruleoutput: like(cfsAlert.ruleoutput),
            time: regex(ISO_DATE_TIME, cfsAlert.time),
          }),
        ),
      )
      .executeTest(async (message) => {
        const crm = new InMemoryCrm(new SequentialIds('alert'), { clock: new ManualClock(Date.parse(cfsAlert.time)) });
        const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 3 });
        const inbound = new InboundAlerts({ crm, log: silentLog });
        await queue.send([{ messageId: 'm1', body: new TextEncoder().encode(JSON.stringify(message.contents.content)) }]);
        await new QueueProcessor(queue, (m) => inbound.handle(m), silentLog).drainOnce();
        expect(await queue.peekDeadLetters(10)).toEqual([]);
        expect(queue.activeCount).toBe(0);
        expect(await crm.listIoTAlerts()).toMatchObject([
          {
            alertToken: cfsAlert.eventtoken,
            deviceId: cfsAlert.deviceid,
            description: 'Temperature reading of 86 exceeded a threshold of 70',
            // The element as it came, as the CFS Logic App stores it.
            alertData: JSON.stringify((message.contents.content as unknown[])[0]),
            alertTime: Date.parse(cfsAlert.time),
            alertType: AlertType.Anomaly,
            state: AlertState.Active,
            status: AlertStatus.Active,
          },
        ]);
      });
  });
});
