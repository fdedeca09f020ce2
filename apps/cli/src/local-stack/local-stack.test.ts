import { readFileSync } from 'node:fs';
import { TOKENS, type CrmGatewayPort, type DeviceTelemetryPort, type LogFields } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalContainer, LocalStack } from './local-stack.js';

const events: Array<{ event: string; fields?: LogFields }> = [];
const log = { info: (event: string, fields?: LogFields) => void events.push({ event, fields }), warn: () => undefined, error: () => undefined };
let stack: LocalStack | undefined;

afterEach(async () => {
  await stack?.stop();
  events.length = 0;
});

const waitFor = async <T>(probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> => {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the local stack (first slice)', () => {
  it('turns an over-threshold thermostat reading into an IoT alert record, through the real layers', async () => {
    stack = new LocalStack(createLocalContainer({ log }));
    await stack.start();
    const hub = stack.get<DeviceTelemetryPort>(TOKENS.DeviceTelemetry);
    await hub.send('thermostat-1', new TextEncoder().encode(JSON.stringify({ DeviceID: 'thermostat-1', Temperature: 65, Humidity: 40, EventToken: 'under' })));
    await hub.send('thermostat-1', readFileSync(new URL('../../../../fixtures/cfs/telemetry.thermostat.json', import.meta.url)));
    const crm = stack.get<CrmGatewayPort>(TOKENS.CrmGateway);
    const [alert, ...others] = await waitFor(async () => {
      const alerts = await crm.listIoTAlerts();
      return alerts.length > 0 ? alerts : undefined;
    });
    expect(others).toEqual([]);
    expect(alert).toMatchObject({ deviceId: 'thermostat-1', alertToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01', description: 'Temperature reading of 86 exceeded a threshold of 70' });
    expect(JSON.parse(alert!.alertData)).toMatchObject({ deviceid: 'thermostat-1', readingtype: 'Temperature', reading: 86, threshold: 70, ruleoutput: 'AlarmTemp' });
    expect(events.map((e) => e.event)).toEqual(['alert.raised', 'crm.alert-created']);
    expect(new Set(events.map((e) => e.fields?.correlationId))).toEqual(new Set(['6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01']));
  });
});
