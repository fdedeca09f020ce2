import { randomUUID } from 'node:crypto';
import { DynamicsCrmGateway, REGISTRATION_BATCH_FROM } from '@fieldlink/adapter-dynamics';
import { RegistrationStatus } from '@fieldlink/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorCredential, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

let emulator: RunningDataverseEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start() {
  emulator = await startDataverseEmulator();
  return { crm: new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential(), requestTimeoutMs: 5_000 }), emulator };
}

const newDevice = (deviceId: string) => ({
  deviceRecordId: randomUUID(),
  deviceId,
  name: `Device ${deviceId}`,
  deviceType: 'Thermostat',
  registrationStatus: RegistrationStatus.InProgress,
});
const writesSince = (e: RunningDataverseEmulator, from: number) =>
  e
    .stats()
    .arrivals.slice(from)
    .map((a) => `${a.method} ${a.path}`);

describe('registration results written by the Dynamics adapter to the emulator (flow 18″)', () => {
  it('writes a single result as one PATCH of the device record, not a $batch', async () => {
    const { crm, emulator: e } = await start();
    const device = newDevice('thermostat-1');
    await crm.upsertDevice(device);
    const before = e.stats().arrivals.length;
    await crm.writeRegistrationResults([
      { deviceRecordId: device.deviceRecordId, deviceId: 'thermostat-1', status: RegistrationStatus.Registered, message: 'Registered' },
    ]);
    expect(writesSince(e, before)).toEqual([`PATCH /api/data/v9.2/msdyn_iotdevices(${device.deviceRecordId})`]);
    expect(await crm.getDevice(device.deviceRecordId)).toMatchObject({
      deviceId: 'thermostat-1',
      name: device.name,
      registrationStatus: RegistrationStatus.Registered,
      registrationMessage: 'Registered',
    });
  });

  it('answers a single result for a device that is not in CRM with the DeviceNotFound error and creates no device', async () => {
    const { crm, emulator: e } = await start();
    const missing = randomUUID();
    const written = await crm.writeRegistrationResults([
      { deviceRecordId: missing, deviceId: 'thermostat-9', status: RegistrationStatus.Error, message: 'Device id refused' },
    ]);
    expect(written).toMatchObject({ ok: false, error: { code: 'DeviceNotFound', deviceRecordIds: [missing], cause: { code: 'NotFound', status: 404 } } });
    expect(e.count('msdyn_iotdevices')).toBe(0);
    expect(await crm.getDevice(missing)).toBeUndefined();
  });

  it(`writes ${REGISTRATION_BATCH_FROM} or more results in one $batch request, and still reports a missing device after writing the others`, async () => {
    const { crm, emulator: e } = await start();
    const a = newDevice('thermostat-1');
    const b = newDevice('thermostat-2');
    await crm.upsertDevice(a);
    await crm.upsertDevice(b);
    const before = e.stats().arrivals.length;
    await crm.writeRegistrationResults([
      { deviceRecordId: a.deviceRecordId, deviceId: a.deviceId, status: RegistrationStatus.Registered, message: 'Registered' },
      { deviceRecordId: b.deviceRecordId, deviceId: b.deviceId, status: RegistrationStatus.Error, message: 'Quota exceeded' },
    ]);
    expect(writesSince(e, before)).toEqual(['POST /api/data/v9.2/$batch']);
    expect(await crm.getDevice(b.deviceRecordId)).toMatchObject({ registrationStatus: RegistrationStatus.Error, registrationMessage: 'Quota exceeded' });

    const missing = randomUUID();
    const written = await crm.writeRegistrationResults([
      { deviceRecordId: missing, deviceId: 'thermostat-9', status: RegistrationStatus.Registered, message: 'Registered' },
      { deviceRecordId: a.deviceRecordId, deviceId: a.deviceId, status: RegistrationStatus.Error, message: 'Disabled' },
    ]);
    expect(written).toMatchObject({ ok: false, error: { code: 'DeviceNotFound', deviceRecordIds: [missing] } });
    expect(await crm.getDevice(a.deviceRecordId)).toMatchObject({ registrationStatus: RegistrationStatus.Error, registrationMessage: 'Disabled' });
    expect(e.count('msdyn_iotdevices')).toBe(2);
  });
});
