import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { startDataverseEmulator } from '@fieldlink/dataverse-emulator';

const SETTINGS_ID = '7f3c2a10-5b4e-4d6f-9a8b-1c2d3e4f5a6b';

// The Dynamics adapter, over real HTTP on loopback, against the emulator: the same suite the in-memory CRM passes.
crmGatewayConformance('DynamicsCrmGateway on the Dataverse emulator', async () => {
  const emulator = await startDataverseEmulator();
  const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, allowAnonymous: true, requestTimeoutMs: 5_000 });
  return {
    crm,
    advanceTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    // One IoT settings record, written through the Web API as an administrator's form save would.
    setIoTSettings: async (settings) => {
      const res = await fetch(`${emulator.webApiUrl}msdyn_iotsettingses(${SETTINGS_ID})`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', 'OData-Version': '4.0' },
        body: JSON.stringify({ msdyn_name: 'IoT Settings', msdyn_commandnameproperty: settings.commandNameProperty ?? null, msdyn_commandparametersproperty: settings.commandParametersProperty ?? null }),
      });
      if (!res.ok) throw new Error(`PATCH msdyn_iotsettingses answered ${res.status} ${await res.text()}`);
    },
    dispose: () => emulator.close(),
  };
});
