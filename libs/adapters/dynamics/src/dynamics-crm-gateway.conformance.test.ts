import { defineDeviceCategory, emulatorCredential, setIoTSettings, startDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { DynamicsCrmGateway } from './dynamics-crm-gateway.js';

// The Dynamics adapter, over real HTTP on loopback, against the emulator of a stock organisation: the same suite the in-memory CRM passes.
// The emulator is a test fixture here (a devDependency); it stamps records with the real clock, so time passes for real.
crmGatewayConformance('DynamicsCrmGateway on the Dataverse emulator (stock organisation)', async () => {
  const emulator = await startDataverseEmulator();
  const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential(), requestTimeoutMs: 5_000 });
  return {
    crm,
    advanceTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    setIoTSettings: (settings) => setIoTSettings(emulator.webApiUrl, settings),
    defineDeviceCategory: (category) => defineDeviceCategory(emulator.webApiUrl, category),
    dispose: () => emulator.close(),
  };
});
