// Provider side of flows 13–15: the emulator's CFS IoT service endpoint puts a RemoteExecutionContext
// on the outbound queue for each message of the orchestrator's pact. Provider states put real
// device records in a fresh emulator through its Web API; each message comes from the operation
// that makes Dataverse post it (a command created, a device's settings changed, an action called).
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-orchestrator-dataverse-service-endpoint.json';

interface Device {
  deviceRecordId: string;
  deviceId: string;
  name: string;
  tags?: string;
  settings?: string;
}
let emulator: RunningDataverseEmulator | undefined;
let outbound = new InMemoryQueue('outbound');
let devices: Device[] = [];

async function call(method: string, target: string, body: unknown): Promise<void> {
  const res = await fetch(`${emulator!.webApiUrl}${target}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0', Authorization: 'Bearer provider-states' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${target} answered ${res.status} ${await res.text()}`);
}

async function crmWith(list: Device[]): Promise<undefined> {
  await emulator?.close();
  outbound = new InMemoryQueue('outbound');
  emulator = await startDataverseEmulator({ outboundQueue: outbound });
  devices = list;
  for (const d of list) {
    await call('PATCH', `msdyn_iotdevices(${d.deviceRecordId})`, {
      msdyn_deviceid: d.deviceId,
      msdyn_name: d.name,
      msdyn_tags: d.tags ?? '{"site":"lobby"}',
      msdyn_devicesettings: d.settings ?? '{"TargetTemperature":21}',
    });
  }
  return undefined;
}

const stateHandlers = {
  'an IoT device is in CRM': (params: unknown) => crmWith([params as Device]),
  'IoT devices are in CRM': (params: unknown) => crmWith((params as { devices: Device[] }).devices),
};

/**
 * Does what makes Dataverse post, then takes the one context the service endpoint put on the
 * outbound queue: its body, and as message metadata its content type and application properties.
 */
async function posted(operation: () => Promise<void>): Promise<unknown> {
  await outbound.receive({ maxMessages: 100, maxWaitMs: 0 }).then((old) => Promise.all(old.map((m) => outbound.complete(m))));
  await operation();
  const [message] = await outbound.receive({ maxMessages: 1, maxWaitMs: 1000 });
  if (message === undefined) throw new Error('the service endpoint posted nothing');
  const metadata: Record<string, string> = { ...(message.contentType === undefined ? {} : { contentType: message.contentType }) };
  for (const [key, value] of Object.entries(message.properties ?? {})) metadata[key] = String(value);
  return { __pactMessageMetadata: metadata, message: JSON.parse(new TextDecoder().decode(message.body)) as unknown };
}

const first = (): Device => devices[0]!;
const messageProviders = {
  'a Create of msdyn_iotdevicecommand': () =>
    posted(() =>
      call('POST', 'msdyn_iotdevicecommands', {
        msdyn_name: 'Reset Thermostat',
        msdyn_message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
        msdyn_deviceid: first().deviceId,
        msdyn_commandstatus: 192350000,
        'msdyn_Device@odata.bind': `/msdyn_iotdevices(${first().deviceRecordId})`,
      }),
    ),
  'an msdyn_RegisterIoTDevice action': () =>
    posted(() => call('POST', 'msdyn_RegisterIoTDevice', { IoTDeviceIds: devices.map((d) => d.deviceRecordId).join(',') })),
  'an Update of msdyn_iotdevice': () =>
    posted(() => call('PATCH', `msdyn_iotdevices(${first().deviceRecordId})`, { msdyn_devicesettings: '{"TargetTemperature":19}' })),
  'an msdyn_PullDataForIoTDevice action': () =>
    posted(() => call('POST', 'msdyn_PullDataForIoTDevice', { IoTDeviceIds: devices.map((d) => d.deviceRecordId).join(',') })),
};

describe('the CRM service endpoint (Dataverse emulator) honours the pact of the orchestrator (flows 13–15)', () => {
  afterAll(async () => {
    await emulator?.close();
  });

  it(`posts every message of ${PACT_FILE}`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-orchestrator',
      provider: 'dataverse-service-endpoint',
      pactFile: PACT_FILE,
      providerProject: 'dataverse-emulator',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
