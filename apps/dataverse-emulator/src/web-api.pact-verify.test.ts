// Provider side of the Dataverse Web API pact: the emulator answers every request of the Dynamics
// adapter's pact. Each provider state starts a fresh emulator and puts real records in it through
// its own Web API, so one interaction's writes never leak into the next one's reads.
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-dynamics-adapter-dataverse-web-api.json';

let emulator: RunningDataverseEmulator | undefined;
let front: Server;
let frontUrl = '';

/** Writes a record through the emulator's Web API, as any Dataverse client would. */
async function upsert(entitySet: string, id: string, record: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${emulator!.webApiUrl}${entitySet}(${id})`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0', Authorization: 'Bearer provider-states' },
    body: JSON.stringify(record),
  });
  if (!res.ok) throw new Error(`provider state: ${entitySet}(${id}) answered ${res.status} ${await res.text()}`);
}

async function freshEmulator(): Promise<void> {
  await emulator?.close();
  emulator = await startDataverseEmulator();
}

interface DeviceParams {
  deviceRecordId: string;
  deviceId: string;
  name: string;
  deviceType: string;
  categoryId: string;
  customerAssetId: string;
}

/**
 * The device as a stock organisation holds it: its category (the device type), the device bound
 * to it by the stock navigation name, and the customer asset naming the device in its
 * msdyn_deviceid. msdyn_registrationstatus: Unknown (192350000) unless the state says otherwise.
 */
async function putDevice(p: DeviceParams, registrationStatus = 192350000): Promise<void> {
  await upsert('msdyn_iotdevicecategories', p.categoryId, { msdyn_name: p.deviceType });
  await upsert('msdyn_iotdevices', p.deviceRecordId, {
    msdyn_deviceid: p.deviceId,
    msdyn_name: p.name,
    msdyn_registrationstatus: registrationStatus,
    'msdyn_Category@odata.bind': `/msdyn_iotdevicecategories(${p.categoryId})`,
  });
  await upsert('msdyn_customerassets', p.customerAssetId, { msdyn_name: `${p.name} asset`, msdyn_deviceid: p.deviceId });
}

const stateHandlers = {
  'an IoT device is in CRM': async (params: unknown) => {
    await freshEmulator();
    await putDevice(params as DeviceParams);
    return undefined;
  },
  // Flow 18″: the device the registration ran for, In Progress (192350002) as msdyn_RegisterIoTDevice left it.
  'an IoT device being registered is in CRM': async (params: unknown) => {
    await freshEmulator();
    await putDevice(params as DeviceParams, 192350002);
    return undefined;
  },
  'no IoT device is in CRM': async () => {
    await freshEmulator();
    return undefined;
  },
  'an IoT alert of a device is in CRM': async (params: unknown) => {
    const p = params as DeviceParams & { alertId: string; alertToken: string; alertTime: string };
    await freshEmulator();
    await putDevice(p);
    await upsert('msdyn_iotalerts', p.alertId, {
      msdyn_alerttoken: p.alertToken,
      msdyn_deviceid: p.deviceId,
      msdyn_description: 'Temperature reading of 86 exceeded a threshold of 70',
      msdyn_alertdata: '{}',
      msdyn_alerttime: p.alertTime,
      msdyn_alerttype: 192350000,
      statecode: 0,
      statuscode: 1,
      'msdyn_Device@odata.bind': `/msdyn_iotdevices(${p.deviceRecordId})`,
    });
    return undefined;
  },
  'an IoT device command is in CRM': async (params: unknown) => {
    await putCommand(params as CommandParams, 'requested', 192350000);
    return undefined;
  },
  // Flows 16–19, conditional writes: the ETag the adapter read goes into If-Match (`${etag}`).
  'an IoT device command sent to its device is in CRM': async (params: unknown) => {
    await putCommand(params as CommandParams, 'sent', 192350001);
    return { etag: await etagOf('msdyn_iotdevicecommands', (params as CommandParams).commandId) };
  },
  // The adapter read the row (`${staleEtag}`), then another writer moved the command on.
  'an IoT device command changed by another writer since its read is in CRM': async (params: unknown) => {
    const p = params as CommandParams;
    await putCommand(p, 'sent', 192350001);
    const staleEtag = await etagOf('msdyn_iotdevicecommands', p.commandId);
    await upsert('msdyn_iotdevicecommands', p.commandId, {
      msdyn_commandstatusreason: '[Fieldlink: acknowledged] The device answered',
      msdyn_commandstatus: 192350001,
    });
    return { staleEtag };
  },
};

type CommandParams = DeviceParams & { commandId: string };

/** A fresh emulator holding the device and its command in the given state and CFS status. */
async function putCommand(p: CommandParams, state: string, cfsStatus: number): Promise<void> {
  await freshEmulator();
  await putDevice(p);
  await upsert('msdyn_iotdevicecommands', p.commandId, {
    msdyn_name: 'Reset Thermostat',
    msdyn_message: '{"CommandName":"Reset Thermostat","Parameters":{}}',
    msdyn_deviceid: p.deviceId,
    msdyn_commandstatus: cfsStatus,
    msdyn_commandstatusreason: `[Fieldlink: ${state}]`,
    'msdyn_Device@odata.bind': `/msdyn_iotdevices(${p.deviceRecordId})`,
  });
}

/** The row's ETag as the emulator's Web API gives it to any reader. */
async function etagOf(entitySet: string, id: string): Promise<string> {
  const res = await fetch(`${emulator!.webApiUrl}${entitySet}(${id})?$select=modifiedon`, {
    headers: { 'OData-Version': '4.0', Authorization: 'Bearer provider-states' },
  });
  const etag = ((await res.json()) as { '@odata.etag'?: unknown })['@odata.etag'];
  if (!res.ok || typeof etag !== 'string') throw new Error(`provider state: ${entitySet}(${id}) answered ${res.status} without an ETag`);
  return etag;
}

describe('the Dataverse emulator honours the pact of the Dynamics adapter', () => {
  beforeAll(async () => {
    await freshEmulator();
    // One address for the verifier; behind it, whichever emulator the last provider state started.
    front = createServer((req, res) => {
      // As against a real organisation, a request filter adds the bearer token the pact leaves out.
      const upstream = request(
        new URL(req.url ?? '/', emulator!.url),
        { method: req.method, headers: { ...req.headers, authorization: 'Bearer pact-verifier' } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (e) => {
        res.writeHead(502);
        res.end(e.message);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => front.close(resolve));
    await emulator?.close();
  });

  it(`answers every request of ${PACT_FILE} as the pact says`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-dynamics-adapter',
      provider: 'dataverse-web-api',
      pactFile: PACT_FILE,
      providerProject: 'dataverse-emulator',
      options: { providerBaseUrl: frontUrl, stateHandlers },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
