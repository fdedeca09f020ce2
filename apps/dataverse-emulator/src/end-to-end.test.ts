import { aCrmDevice, aNewIoTAlert } from '@fieldlink/ports/testing';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { RegistrationStatus } from '@fieldlink/domain';
import { decodeRemoteExecutionContext } from '@fieldlink/ports';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorCredential, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

let emulator: RunningDataverseEmulator | undefined;
let queue: InMemoryQueue | undefined;
afterEach(async () => {
  await emulator?.close();
  await queue?.close();
  emulator = undefined;
});

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../fixtures/cfs/${name}`, import.meta.url), 'utf8'));

async function start() {
  queue = new InMemoryQueue('crm-outbound');
  emulator = await startDataverseEmulator({ outboundQueue: queue });
  return { crm: new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential() }), queue, emulator };
}

const receiveContexts = async (q: InMemoryQueue) => {
  const messages = await q.receive({ maxMessages: 10, maxWaitMs: 1_000 });
  return messages.map((m) => {
    const decoded = decodeRemoteExecutionContext(m.body);
    if (!decoded.ok) throw new Error(JSON.stringify(decoded.error));
    return decoded.value;
  });
};

describe('device ids with quotes and non-ASCII, end to end through the adapter and the emulator', () => {
  it('keeps each id apart and exact in devices, alerts and device data', async () => {
    const { crm } = await start();
    const ids = ["o'brien", "o''brien", "it's-'quoted'", 'Ωmega-température-東京', "x' or msdyn_deviceid ne '"];
    for (const deviceId of ids) {
      await crm.upsertDevice(
        aCrmDevice({ deviceRecordId: randomUUID(), deviceId, name: `Device ${deviceId}`, registrationStatus: RegistrationStatus.Unregistered }),
      );
      await crm.createIoTAlert(aNewIoTAlert({ alertToken: randomUUID(), deviceId, description: `Température élevée à ${deviceId}` }));
      await crm.addDeviceDataHistory({
        deviceId,
        connectionState: 'Connected',
        reportedProperties: JSON.stringify({ who: deviceId }),
        recordedOn: Date.parse('2026-11-28T09:16:00Z'),
      });
    }
    for (const deviceId of ids) {
      expect((await crm.findDeviceByHubId(deviceId))?.deviceId).toBe(deviceId);
      const alerts = await crm.listIoTAlerts({ deviceId });
      expect(alerts.map((a) => a.deviceId)).toEqual([deviceId]);
      expect(alerts[0]!.description).toBe(`Température élevée à ${deviceId}`.slice(0, 100));
      expect((await crm.listDeviceDataHistory(deviceId)).map((d) => JSON.parse(d.reportedProperties).who)).toEqual([deviceId]);
    }
  });
});

describe('the limits of msdyn_iotalert, kept without silent loss', () => {
  it('cuts a long description with an ellipsis and keeps alert data over 8,192 characters whole in a note', async () => {
    const { crm, emulator: e } = await start();
    const alertData = JSON.stringify({ deviceid: 'thermostat-1', samples: Array.from({ length: 2_000 }, (_, i) => i) });
    expect(alertData.length).toBeGreaterThan(8_192);
    const { alertId } = await crm.createIoTAlert(aNewIoTAlert({ alertToken: randomUUID(), description: 'D'.repeat(150), alertData }));
    const stored = await crm.getIoTAlert(alertId);
    expect(stored?.description).toHaveLength(100);
    expect(stored?.description.endsWith('…')).toBe(true);
    expect(stored?.alertData).toBe(alertData);
    expect(e.count('annotations')).toBe(1);
  });
});

describe('the IoT service endpoint posts RemoteExecutionContext messages to the outbound queue', () => {
  it('on Create of a command, shaped like the CFS fixture', async () => {
    const { crm, queue: q } = await start();
    const { commandId } = await crm.createCommand({
      name: 'Reset Thermostat',
      message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
      deviceId: "o'brien",
    });
    const [context] = await receiveContexts(q);
    const expected = decodeRemoteExecutionContext(fixture('remote-execution-context.create-command.json') as object);
    expect(expected.ok).toBe(true);
    expect(context).toMatchObject({ messageName: 'Create', primaryEntityName: 'msdyn_iotdevicecommand', primaryEntityId: commandId });
    const target = context!.inputParameters['Target'] as { attributes: Record<string, unknown> };
    expect(target.attributes).toMatchObject({
      msdyn_name: 'Reset Thermostat',
      msdyn_deviceid: "o'brien",
      msdyn_message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
      msdyn_commandstatus: { kind: 'OptionSetValue', value: 192350000 },
    });
  });

  it('on msdyn_RegisterIoTDevice, with the devices as the CFS action sends them, and on an update of tags or settings', async () => {
    const { crm, queue: q } = await start();
    const a = aCrmDevice({
      deviceRecordId: randomUUID(),
      tags: { site: 'lobby' },
      settings: { TargetTemperature: 21 },
      registrationStatus: RegistrationStatus.Unregistered,
    });
    const b = {
      ...a,
      deviceRecordId: randomUUID(),
      deviceId: 'thermostat-2',
      name: 'Server room thermostat',
      tags: { site: 'server-room' },
      settings: { TargetTemperature: 18 },
    };
    await crm.upsertDevice(a);
    await crm.upsertDevice(b);
    await crm.registerDevices([a.deviceRecordId, b.deviceRecordId]);
    const [register] = await receiveContexts(q);
    expect(register).toMatchObject({
      messageName: 'msdyn_RegisterIoTDevice',
      inputParameters: {
        DeviceIds: 'thermostat-1,thermostat-2',
        IoTDeviceIds: `${a.deviceRecordId},${b.deviceRecordId}`,
        IoTDeviceNames: 'Lobby thermostat,Server room thermostat',
        IoTDeviceTags: '{"site":"lobby"},{"site":"server-room"}',
      },
    });
    expect((await crm.getDevice(a.deviceRecordId))?.registrationStatus).toBe(RegistrationStatus.InProgress);

    await crm.upsertDevice({ ...a, settings: { TargetTemperature: 23 } });
    const [update] = await receiveContexts(q);
    expect(update).toMatchObject({ messageName: 'Update', primaryEntityName: 'msdyn_iotdevice', primaryEntityId: a.deviceRecordId });
    expect((update!.inputParameters['Target'] as { attributes: Record<string, unknown> }).attributes['msdyn_devicesettings']).toBe('{"TargetTemperature":23}');
  });
});
