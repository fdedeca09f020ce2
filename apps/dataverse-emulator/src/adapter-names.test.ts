import { fileURLToPath } from 'node:url';
import { DynamicsCrmGateway, FIELDLINK_EXTENSION_SOLUTION_ZIP } from '@fieldlink/adapter-dynamics';
import { defineDeviceCategory, emulatorCredential, setIoTSettings, startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { RegistrationStatus } from '@fieldlink/domain';
import { SAMPLE_ALERT_TIME } from '@fieldlink/domain/testing';
import { aCrmDevice, aNewIoTAlert, crmGatewayConformance } from '@fieldlink/ports/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { namesIn, recordingProxy, stockNames, type CapturedRequest } from './stock-names.js';

const stock = stockNames(new URL('../../../libs/dataverse-emulator/schema/dataverse-stock-schema.json', import.meta.url));

/** Requests the suite's factories opened a proxy for, and how to close them. */
function capturingFactory(mode: 'stock' | 'extension', into: CapturedRequest[], open: Array<() => Promise<void>>) {
  return async () => {
    const emulator: RunningDataverseEmulator = await startDataverseEmulator(
      mode === 'extension' ? { solutions: [fileURLToPath(FIELDLINK_EXTENSION_SOLUTION_ZIP)] } : {},
    );
    const proxy = await recordingProxy(() => emulator.url, into);
    open.push(proxy.close);
    const crm = new DynamicsCrmGateway({ organizationUrl: proxy.url, credential: emulatorCredential(), requestTimeoutMs: 5_000, batchSize: 2 });
    return {
      crm,
      emulator,
      advanceTime: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      defineDeviceCategory: (category: Parameters<typeof defineDeviceCategory>[1]) => defineDeviceCategory(emulator.webApiUrl, category),
      setIoTSettings: (settings: Parameters<typeof setIoTSettings>[1]) => setIoTSettings(emulator.webApiUrl, settings),
      dispose: async () => {
        await proxy.close();
        await emulator.close();
      },
    };
  };
}

/** What the suite does not reach: bulk alerts with a note, bulk registration results, the two CFS actions, the category listing. */
async function theRest(crm: DynamicsCrmGateway): Promise<void> {
  const deviceRecordIds = ['5e7a1000-0000-4000-8000-000000000001', '5e7a1000-0000-4000-8000-000000000002'];
  for (const [i, id] of deviceRecordIds.entries())
    await crm.upsertDevice(aCrmDevice({ deviceRecordId: id, deviceId: `names-${i}`, name: `Names ${i}`, registrationStatus: RegistrationStatus.Unregistered }));
  const alert = (i: number) =>
    aNewIoTAlert({
      alertToken: `names-token-${i}`,
      deviceId: 'names-0',
      alertData: i === 0 ? 'x'.repeat(9_000) : '{}',
      alertTime: SAMPLE_ALERT_TIME + i * 1000,
    });
  await crm.createIoTAlerts([alert(0), alert(1), alert(2)]);
  await crm.getIoTAlert((await crm.findIoTAlertsByToken('names-token-0'))[0]!.alertId);
  await crm.writeRegistrationResults(
    deviceRecordIds.map((id, i) => ({ deviceRecordId: id, deviceId: `names-${i}`, status: RegistrationStatus.Registered, message: 'Registered' })),
  );
  await crm.registerDevices(deviceRecordIds);
  await crm.pullDeviceData(deviceRecordIds);
  await crm.listDeviceCategories();
}

for (const mode of ['stock', 'extension'] as const) {
  describe(`the names the Dynamics adapter sends, against a ${mode === 'stock' ? 'stock organisation' : 'organisation with the Fieldlink extension solution'}`, () => {
    const captured: CapturedRequest[] = [];
    const proxies: Array<() => Promise<void>> = [];
    const factory = capturingFactory(mode, captured, proxies);
    afterAll(async () => {
      for (const close of proxies) await close().catch(() => undefined);
    });

    crmGatewayConformance(`DynamicsCrmGateway on the Dataverse emulator (${mode}), names captured`, factory);

    it(`uses only entity sets, columns and navigation properties of the stock schema${mode === 'extension' ? ', and the extension column' : ''}, and sends every required column on create`, async () => {
      const harness = await factory();
      try {
        await theRest(harness.crm);
      } finally {
        await harness.dispose();
      }
      const { names, creates } = namesIn(captured);
      const extension = (on: string, name: string): boolean => mode === 'extension' && on === 'msdyn_iotdevicecommands' && name === 'fl_commandstate';
      const unknown = names.filter((n) =>
        n.kind === 'entity set'
          ? !stock.isEntitySet(n.name)
          : n.kind === 'column'
            ? !stock.isColumn(n.on!, n.name) && !extension(n.on!, n.name)
            : !stock.isNavigation(n.on!, n.name),
      );
      expect(unknown.map((n) => `${n.kind} ${n.on === undefined ? '' : `${n.on}.`}${n.name} (${n.where})`)).toEqual([]);

      // The capture saw what it must have seen, so the check above cannot pass on an empty list.
      const seen = (kind: string, name: string) => names.some((n) => n.kind === kind && n.name === name);
      for (const name of [
        'msdyn_iotdevicedatahistory',
        'msdyn_iotdevicecategories',
        'msdyn_customerassets',
        'incidents',
        'annotations',
        'msdyn_RegisterIoTDevice',
      ])
        expect(seen('entity set', name), name).toBe(true);
      for (const name of [
        'msdyn_Device',
        'msdyn_ParentAlert',
        'msdyn_Case',
        'msdyn_LastCommandSent',
        'msdyn_IoTAlert',
        'msdyn_Category',
        'msdyn_incident_msdyn_customerasset',
        'objectid_msdyn_iotalert',
      ])
        expect(seen('navigation', name), name).toBe(true);
      expect(seen('column', 'fl_commandstate')).toBe(mode === 'extension');

      // ApplicationRequired columns are not enforced by the platform, but a create that leaves one out is not what a user can save.
      // Known gaps: a case needs its customer (customerid) and a work order its service account, price list and type, which the port does not carry.
      const gaps: Record<string, readonly string[]> = {
        incidents: [],
        msdyn_workorders: ['msdyn_name', 'msdyn_serviceaccount', 'msdyn_pricelist', 'msdyn_workordertype', 'msdyn_systemstatus', 'msdyn_taxable'],
      };
      const missing = creates.flatMap((c) =>
        stock
          .requiredOnCreate(c.entitySet)
          .filter((r) => !c.columns.includes(r) && !(gaps[c.entitySet] ?? []).includes(r))
          .map((r) => `${c.entitySet}.${r}`),
      );
      expect([...new Set(missing)]).toEqual([]);
    });
  });
}
