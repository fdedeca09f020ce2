import { readFileSync } from 'node:fs';
import { InMemoryCrm, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertState, AlertStatus, AlertType, RegistrationStatus } from '@fieldlink/domain';
import { silentLog, type CrmGatewayPort } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { InboundAlerts } from './inbound-alerts.js';
import { QueueProcessor } from './queue-processor.js';
import { FaultSchedule } from './testing/fault-injection.js';

const fixture = readFileSync(new URL('../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8');
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const T0 = Date.parse('2026-11-28T09:15:02.113Z');

/** The fixture's element with another token and time: the same device alerting again. */
const alertAt = (token: string, time: number, deviceid = 'thermostat-1'): string =>
  JSON.stringify([{ ...(JSON.parse(fixture) as object[])[0], eventtoken: token, time: new Date(time).toISOString(), deviceid }]);

const setup = (wrap: (crm: CrmGatewayPort) => CrmGatewayPort = (c) => c) => {
  const crm = new InMemoryCrm(new SequentialIds('alert'), { clock: new ManualClock(T0) });
  const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 3 });
  const inbound = new InboundAlerts({ crm: wrap(crm), log: silentLog });
  const processor = new QueueProcessor(queue, (m) => inbound.handle(m), silentLog);
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
        alertTime: T0,
        alertType: AlertType.Anomaly,
        state: AlertState.Active,
        status: AlertStatus.Active,
      },
    ]);
    expect(queue.activeCount).toBe(0);
  });

  it('maps the device id to the msdyn_iotdevice record and its customer asset', async () => {
    const { queue, processor, crm } = setup();
    await crm.upsertCustomerAsset({ customerAssetId: 'asset-9', name: 'Lobby HVAC' });
    await crm.upsertDevice({ deviceRecordId: 'dev-rec-1', deviceId: 'thermostat-1', name: 'Lobby thermostat', deviceType: 'Thermostat', customerAssetId: 'asset-9', registrationStatus: RegistrationStatus.Registered });
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toMatchObject([{ deviceRecordId: 'dev-rec-1', customerAssetId: 'asset-9' }]);
  });

  it('makes one record however often the message is delivered', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await queue.send([{ messageId: 'm2', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toHaveLength(1);
  });

  it('parents a repeat within 5 minutes to the first alert, and collapses a chain to one root', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([
      { messageId: 'a', body: encode(alertAt('a', T0)) },
      { messageId: 'b', body: encode(alertAt('b', T0 + 4 * 60_000)) },
      { messageId: 'c', body: encode(alertAt('c', T0 + 8 * 60_000)) },
      { messageId: 'other', body: encode(alertAt('other', T0 + 60_000, 'thermostat-2')) },
      { messageId: 'd', body: encode(alertAt('d', T0 + 14 * 60_000)) },
    ]);
    await processor.drainOnce();
    const byToken = new Map((await crm.listIoTAlerts()).map((a) => [a.alertToken, a]));
    const root = byToken.get('a')!.alertId;
    expect(byToken.get('a')!.parentAlertId).toBeUndefined();
    expect(byToken.get('b')!.parentAlertId).toBe(root);
    expect(byToken.get('c')!.parentAlertId).toBe(root); // b is within 5 minutes of c, and passes its parent on
    expect(byToken.get('other')!.parentAlertId).toBeUndefined(); // another device
    expect(byToken.get('d')!.parentAlertId).toBeUndefined(); // 6 minutes after c: a new root
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
    const faults = new FaultSchedule(new Map([[1, 'before']]));
    const { queue, processor, crm } = setup((c) => faults.wrap(c, 'crm'));
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(faults.injected).toEqual(['crm.findIoTAlertByToken before']);
    expect(await crm.listIoTAlerts()).toHaveLength(0);
    expect(queue.activeCount).toBe(1);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toHaveLength(1);
    expect(queue.activeCount).toBe(0);
  });
});
