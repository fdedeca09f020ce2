import { aCrmDevice } from '@fieldlink/ports/testing';
import { readFileSync } from 'node:fs';
import { InMemoryCrm, InMemoryQueue, ManualClock, SequentialIds } from '@fieldlink/adapter-in-memory';
import { AlertState, AlertStatus, AlertType } from '@fieldlink/domain';
import { silentLog, type CrmGatewayPort } from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InboundAlerts, iotAlertRecordId } from './inbound-alerts.js';
import { QueueProcessor } from '../shared/queue-processor.js';
import { FaultSchedule } from '../testing/fault-injection.js';

const fixture = readFileSync(new URL('../../../../fixtures/cfs/alerts-queue.message.json', import.meta.url), 'utf8');
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const T0 = Date.parse('2026-11-28T09:15:02.113Z');

/** The fixture's element with another token and time: the same device alerting again. */
const alertAt = (token: string, time: number, deviceid = 'thermostat-1'): string =>
  JSON.stringify([{ ...(JSON.parse(fixture) as object[])[0], eventtoken: token, time: new Date(time).toISOString(), deviceid }]);

const setup = (wrap: (crm: CrmGatewayPort) => CrmGatewayPort = (c) => c, enrichment: 'orchestrator' | 'organisation' = 'orchestrator') => {
  const crm = new InMemoryCrm(new SequentialIds('alert'), { clock: new ManualClock(T0) });
  const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 3 });
  const inbound = new InboundAlerts({ crm: wrap(crm), log: silentLog, enrichment });
  const processor = new QueueProcessor(queue, (m) => inbound.handle(m), silentLog);
  return { queue, processor, crm };
};

describe('InboundAlerts', () => {
  it('creates the IoT alert with the CFS field mapping from the CFS alerts-queue fixture', async () => {
    const { queue, processor, crm } = setup();
    await queue.send([{ messageId: 'm1', body: encode(fixture) }]);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toEqual([
      {
        alertId: iotAlertRecordId({ eventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01', readingType: 'Temperature', ruleOutput: 'AlarmTemp' }),
        alertToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
        deviceId: 'thermostat-1',
        description: 'Temperature reading of 86 exceeded a threshold of 70',
        // The element as it came, 86.0 and 70.0 as written, as the CFS Logic App stores it.
        alertData:
          '{"deviceid":"thermostat-1","readingtype":"Temperature","reading":86.0,"eventtoken":"6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01","threshold":70.0,"ruleoutput":"AlarmTemp","time":"2026-11-28T09:15:02.113Z"}',
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
    await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-rec-1', deviceId: 'thermostat-1', customerAssetId: 'asset-9' }));
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
    expect(faults.injected).toEqual(['crm.getIoTAlert before']);
    expect(await crm.listIoTAlerts()).toHaveLength(0);
    expect(queue.activeCount).toBe(1);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toHaveLength(1);
    expect(queue.activeCount).toBe(0);
  });

  it('reads an alerts-queue message whose columns keep the query\u2019s case (compatibility level 1.2) as one in lower case', async () => {
    const { queue, processor, crm } = setup();
    const element = (JSON.parse(fixture) as Array<Record<string, unknown>>)[0]!;
    const pascal = Object.fromEntries(
      Object.entries(element).map(([k, v]) => [
        k === 'deviceid'
          ? 'DeviceId'
          : k === 'readingtype'
            ? 'ReadingType'
            : k === 'eventtoken'
              ? 'EventToken'
              : k === 'ruleoutput'
                ? 'RuleOutput'
                : k[0]!.toUpperCase() + k.slice(1),
        v,
      ]),
    );
    await queue.send([{ messageId: 'm1', body: encode(JSON.stringify([pascal]).replace('"Reading":86', '"Reading":86.0')) }]);
    await processor.drainOnce();
    expect(await crm.listIoTAlerts()).toMatchObject([
      {
        alertToken: element['eventtoken'],
        deviceId: 'thermostat-1',
        description: 'Temperature reading of 86 exceeded a threshold of 70',
        alertData: expect.stringContaining('"DeviceId":"thermostat-1","ReadingType":"Temperature","Reading":86.0,'),
      },
    ]);
  });
});

/** An element of one event over one reading's threshold. */
const element = (token: string, readingType: string, ruleOutput: string, reading: number, deviceid = 'thermostat-1') => ({
  deviceid,
  readingtype: readingType,
  reading,
  eventtoken: token,
  threshold: 70,
  ruleoutput: ruleOutput,
  time: new Date(T0).toISOString(),
});

describe('InboundAlerts, every element its own alert', () => {
  it('makes one alert per element of a message with one event token, over its Temperature and its Humidity, and the token on each', async () => {
    const { queue, processor, crm } = setup();
    const message = JSON.stringify([element('e-1', 'Temperature', 'AlarmTemp', 86), element('e-1', 'Humidity', 'AlarmHumidity', 91)]);
    await queue.send([{ messageId: 'e-1', body: encode(message) }]);
    await processor.drainOnce();
    const alerts = await crm.listIoTAlerts();
    expect(alerts.map((a) => [a.alertToken, a.description]).sort()).toEqual([
      ['e-1', 'Humidity reading of 91 exceeded a threshold of 70'],
      ['e-1', 'Temperature reading of 86 exceeded a threshold of 70'],
    ]);
    expect(await crm.findIoTAlertsByToken('e-1')).toHaveLength(2);
    // The second is a repeat of the first on the same device: its child, as CFS's parenting makes it.
    const [first, second] = await crm.findIoTAlertsByToken('e-1');
    expect(first!.parentAlertId).toBeUndefined();
    expect(second!.parentAlertId).toBe(first!.alertId);
  });

  it("parents on the policy's fields too when it names any: a repeat of another reading type is a root of its own", async () => {
    const crm = new InMemoryCrm(new SequentialIds('alert'), { clock: new ManualClock(T0) });
    const queue = new InMemoryQueue('alerts', { maxDeliveryCount: 3 });
    const inbound = new InboundAlerts({ crm, log: silentLog, parenting: { windowMs: 300_000, fields: ['readingtype'] } });
    const processor = new QueueProcessor(queue, (m) => inbound.handle(m), silentLog);
    // A Temperature and a Humidity alert of one event, then a Temperature alert a minute later, on one device.
    const first = [element('e-1', 'Temperature', 'AlarmTemp', 86), element('e-1', 'Humidity', 'AlarmHumidity', 91)];
    await queue.send([{ messageId: 'e-1', body: encode(JSON.stringify(first)) }]);
    await processor.drainOnce();
    const repeat = [{ ...element('e-2', 'Temperature', 'AlarmTemp', 88), time: new Date(T0 + 60_000).toISOString() }];
    await queue.send([{ messageId: 'e-2', body: encode(JSON.stringify(repeat)) }]);
    await processor.drainOnce();
    const byType = async (token: string): Promise<Map<string, { id: string; parent: string | undefined }>> =>
      new Map(
        (await crm.findIoTAlertsByToken(token)).map((a) => [
          (JSON.parse(a.alertData) as { readingtype: string }).readingtype,
          { id: a.alertId, parent: a.parentAlertId },
        ]),
      );
    const e1 = await byType('e-1');
    // With the default policy the Humidity alert would be the Temperature alert's child (the first test); here both are roots.
    expect([e1.get('Temperature')?.parent, e1.get('Humidity')?.parent]).toEqual([undefined, undefined]);
    expect((await byType('e-2')).get('Temperature')?.parent).toBe(e1.get('Temperature')!.id);
  });

  it('property: a message of n elements with one token gives n records, and delivering it again, whole or after a failure part-way, still gives n', async () => {
    const readingTypes = ['Temperature', 'Humidity', 'Pressure', 'CO2'];
    const outputs = ['AlarmTemp', 'AlarmHigh', 'Notify'];
    const elements = fc.uniqueArray(fc.tuple(fc.constantFrom(...readingTypes), fc.constantFrom(...outputs), fc.integer({ min: 71, max: 200 })), {
      minLength: 1,
      maxLength: 8,
      selector: ([r, o]) => `${r}/${o}`,
    });
    await fc.assert(
      fc.asyncProperty(elements, fc.integer({ min: 1, max: 3 }), fc.option(fc.nat({ max: 30 }), { nil: undefined }), async (items, deliveries, failAt) => {
        const faults = new FaultSchedule(failAt === undefined ? new Map() : new Map([[failAt + 1, 'after' as const]]));
        const { queue, processor, crm } = setup((c) => faults.wrap(c, 'crm'));
        const body = encode(JSON.stringify(items.map(([r, o, v]) => element('tok', r, o, v))));
        for (let i = 0; i < deliveries; i++) await queue.send([{ messageId: `delivery-${i}`, body }]);
        for (let round = 0; round < 4 && queue.activeCount > 0; round++) await processor.drainOnce();
        const stored = await crm.findIoTAlertsByToken('tok');
        expect(stored).toHaveLength(items.length);
        expect(new Set(stored.map((a) => a.alertId)).size).toBe(items.length);
        expect(
          stored
            .map((a) => JSON.parse(a.alertData) as { readingtype: string; ruleoutput: string })
            .map((d) => `${d.readingtype}/${d.ruleoutput}`)
            .sort(),
        ).toEqual(items.map(([r, o]) => `${r}/${o}`).sort());
      }),
      { numRuns: 60 },
    );
  });
});

describe('InboundAlerts, the organisation enriches (as in a CFS deployment)', () => {
  it('writes only what the CFS Logic App writes, and reads neither the device nor earlier alerts', async () => {
    const calls: string[] = [];
    const { queue, processor, crm } = setup(
      (c) =>
        new Proxy(c, {
          get: (target, key, receiver) => {
            const value = Reflect.get(target, key, receiver) as unknown;
            return typeof value === 'function'
              ? (...args: unknown[]) => (calls.push(String(key)), (value as (...a: unknown[]) => unknown).apply(target, args))
              : value;
          },
        }),
      'organisation',
    );
    await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'dev-rec-1', deviceId: 'thermostat-1', customerAssetId: 'asset-9' }));
    await queue.send([
      { messageId: 'a', body: encode(alertAt('a', T0)) },
      { messageId: 'b', body: encode(alertAt('b', T0 + 60_000)) },
    ]);
    await processor.drainOnce();
    const alerts = await crm.listIoTAlerts();
    expect(alerts).toHaveLength(2);
    for (const a of alerts)
      expect(Object.keys(a).sort()).toEqual(['alertData', 'alertId', 'alertTime', 'alertToken', 'alertType', 'description', 'deviceId', 'state', 'status']);
    expect(calls).not.toContain('findDeviceByHubId');
    expect(calls).not.toContain('findRecentIoTAlerts');
  });
});
