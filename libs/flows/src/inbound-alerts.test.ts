import { readFileSync } from 'node:fs';
import { InMemoryCrm, InMemoryQueue, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertState, AlertStatus, AlertType, type IoTAlert } from '@fieldlink/domain';
import { silentLog, type CrmGatewayPort } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { InboundAlerts } from './inbound-alerts.js';
import { QueueProcessor } from './queue-processor.js';

const fixture = readFileSync(new URL('../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8');
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

const setup = (crm: CrmGatewayPort = new InMemoryCrm(new SequentialIds('alert'))) => {
  const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 3 });
  const processor = new QueueProcessor(queue, (m) => new InboundAlerts(crm, silentLog).handle(m), silentLog);
  return { queue, processor, crm };
};

describe('InboundAlerts', () => {
  it('creates the IoT alert with the CFS field mapping from the CFS alerts-queue fixture', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await processor.drainOnce();
    const [element] = JSON.parse(fixture) as unknown[];
    expect(await crm.listIoTAlerts()).toEqual([
      {
        alertId: 'alert-1',
        alertToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
        deviceId: 'thermostat-1',
        description: 'Temperature reading of 86 exceeded a threshold of 70',
        alertData: JSON.stringify(element),
        alertTime: Date.parse('2026-11-28T09:15:02.113Z'),
        alertType: AlertType.Anomaly,
        state: AlertState.Active,
        status: AlertStatus.Active,
      },
    ]);
    expect(queue.activeCount).toBe(0);
  });

  it('makes one record however often the message is delivered', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await queue.send([{ messageId: 'm2', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toHaveLength(1);
  });

  it('dead-letters a message it cannot read, naming the field', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([{ messageId: 'bad', body: encode('[{"deviceid":"thermostat-1"}]') }]);
    await processor.drainOnce();
    const [dead] = await queue.peekDeadLetters(1);
    expect(dead).toMatchObject({ messageId: 'bad', reason: 'InvalidAlertMessage' });
    expect(dead!.description).toContain('0.readingtype');
    expect(await crm.listIoTAlerts()).toEqual([]);
  });

  it('abandons on a CRM failure, so the message comes back and succeeds later', async () => {
    const real = new InMemoryCrm(new SequentialIds('alert'));
    let failures = 1;
    const flaky: CrmGatewayPort = {
      createIoTAlert: async (alert: IoTAlert) => {
        if (failures-- > 0) throw new Error('503 Service Unavailable');
        return real.createIoTAlert(alert);
      },
      listIoTAlerts: () => real.listIoTAlerts(),
    };
    const { queue, processor } = setup(flaky);
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(await real.listIoTAlerts()).toHaveLength(0);
    await processor.drainOnce();
    expect(await real.listIoTAlerts()).toHaveLength(1);
    expect(queue.activeCount).toBe(0);
  });
});
