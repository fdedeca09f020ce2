import { aCrmDevice, aNewIoTAlert } from '@fieldlink/ports/testing';
import { RegistrationStatus } from '@fieldlink/domain';
import { InMemoryCrm, InMemoryStatusStore, SequentialIds } from '@fieldlink/adapter-in-memory';
import { describe, expect, it } from 'vitest';
import { readConsoleSnapshot } from './console-snapshot.js';

const alert = (token: string, alertTime: number, parentAlertId?: string) =>
  aNewIoTAlert({ alertToken: token, description: `reading ${token}`, alertData: '{}', alertTime, ...(parentAlertId === undefined ? {} : { parentAlertId }) });

describe('console snapshot', () => {
  it('groups children under their root, and shows a child whose root fell outside the list as a root, so no alert disappears', async () => {
    const crm = new InMemoryCrm(new SequentialIds('a'));
    const statusStore = new InMemoryStatusStore();
    const root = await crm.createIoTAlert(alert('1', 1000));
    await crm.createIoTAlert(alert('2', 2000, root.alertId));
    await crm.createIoTAlert(alert('3', 3000, root.alertId));
    const all = await readConsoleSnapshot({ crm, statusStore, now: () => 5000 });
    expect(all.alerts.map((a) => [a.description, a.children.map((c) => c.description)])).toEqual([['reading 1', ['reading 3', 'reading 2']]]);
    const newestTwo = await readConsoleSnapshot({ crm, statusStore, now: () => 5000, top: 2 });
    expect(newestTwo.alerts.map((a) => a.description)).toEqual(['reading 3', 'reading 2']);
  });

  it('joins CRM devices with their health, and lists a device the CRM does not know as "Not in CRM"', async () => {
    const crm = new InMemoryCrm(new SequentialIds('a'));
    const statusStore = new InMemoryStatusStore();
    await crm.upsertDevice(
      aCrmDevice({
        deviceRecordId: 'r1',
        deviceId: 'thermostat-10',
        name: 'Hall',
        registrationStatus: RegistrationStatus.Error,
        registrationMessage: 'hub said no',
      }),
    );
    await crm.upsertDevice(aCrmDevice({ deviceRecordId: 'r2', deviceId: 'thermostat-9', name: 'Lab', registrationStatus: RegistrationStatus.InProgress }));
    await statusStore.upsertDeviceHealth({ deviceId: 'stray-1', lastActivityTime: 10, online: true, lastReadings: { Temperature: 60 } });
    const { devices } = await readConsoleSnapshot({ crm, statusStore, now: () => 5000 });
    expect(devices).toEqual([
      {
        deviceId: 'stray-1',
        name: 'stray-1',
        registration: { value: RegistrationStatus.Unknown, label: 'Not in CRM' },
        online: true,
        lastActivityTime: 10,
        lastReadings: { Temperature: 60 },
      },
      {
        deviceId: 'thermostat-9',
        deviceRecordId: 'r2',
        name: 'Lab',
        deviceType: 'Thermostat',
        registration: { value: RegistrationStatus.InProgress, label: 'In Progress' },
        lastReadings: {},
      },
      {
        deviceId: 'thermostat-10',
        deviceRecordId: 'r1',
        name: 'Hall',
        deviceType: 'Thermostat',
        registration: { value: RegistrationStatus.Error, label: 'Error', message: 'hub said no' },
        lastReadings: {},
      },
    ]);
  });
});
