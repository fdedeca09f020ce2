import { parseConfig } from '@fieldlink/composition';
import { RegistrationStatus } from '@fieldlink/domain';
import { describe, expect, it } from 'vitest';
import { createConsoleServices } from './console-services.js';
import { SharedStateFeed } from './shared-state-feed.js';

const configOf = (document: unknown) => {
  const parsed = parseConfig(document);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
};

describe('the console on its own', () => {
  it('refuses to start a Dataverse emulator of its own, naming dataverse.url', async () => {
    const created = await createConsoleServices(configOf({ profile: 'durable' }));
    expect(created).toMatchObject({
      ok: false,
      error: [{ path: 'dataverse.url', message: expect.stringContaining('starts no Dataverse emulator of its own') }],
    });
  });

  it('on in-memory adapters shares nothing, says so, and a registration it cannot announce through the CRM is an error result, not a hub write', async () => {
    const created = await createConsoleServices(configOf({}));
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const { services, sharesNothing, close } = created.value;
    try {
      expect(sharesNothing).toBe(true);
      await services.crm.upsertDevice({
        deviceRecordId: 'rec-1',
        deviceId: 'thermostat-1',
        name: 'Lobby',
        deviceType: 'Thermostat',
        registrationStatus: RegistrationStatus.Unregistered,
      });
      const result = await services.registrations.registerCrmDevice('rec-1');
      expect(result).toMatchObject({ ok: true, value: { deviceId: 'thermostat-1', status: RegistrationStatus.Error } });
      expect(await services.registrations.registerCrmDevice('nobody')).toMatchObject({ ok: false, error: { code: 'DeviceNotFound' } });
    } finally {
      await close();
    }
  });
});

describe('SharedStateFeed', () => {
  it('announces only the parts of the shared state that changed since its last read, and nothing on the first read', async () => {
    const created = await createConsoleServices(configOf({}));
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const { services, close } = created.value;
    const feed = new SharedStateFeed({ crm: services.crm, statusStore: services.statusStore });
    const events: string[] = [];
    feed.subscribe((e) => events.push(e.event));
    try {
      await services.crm.upsertDevice({
        deviceRecordId: 'rec-1',
        deviceId: 'thermostat-1',
        name: 'Lobby',
        deviceType: 'Thermostat',
        registrationStatus: RegistrationStatus.Unregistered,
      });
      await feed.poll();
      expect(events).toEqual([]);
      await feed.poll();
      expect(events).toEqual([]);
      await services.statusStore.upsertDeviceHealth({ deviceId: 'thermostat-1', lastActivityTime: 1_000, online: true, lastReadings: { Temperature: 61 } });
      await feed.poll();
      expect(events).toEqual(['device-health.changed']);
      await services.crm.upsertDevice({
        deviceRecordId: 'rec-1',
        deviceId: 'thermostat-1',
        name: 'Lobby',
        deviceType: 'Thermostat',
        registrationStatus: RegistrationStatus.Registered,
      });
      await feed.poll();
      expect(events).toEqual(['device-health.changed', 'devices.changed']);
    } finally {
      await feed.stop();
      await close();
    }
  });
});
