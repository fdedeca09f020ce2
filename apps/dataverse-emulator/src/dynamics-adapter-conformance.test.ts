import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { emulatorCredential, startDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { defineDeviceCategory, setIoTSettings } from './organisation-setup.js';

// The Dynamics adapter, over real HTTP on loopback, against the emulator of a stock organisation: the same suite the in-memory CRM passes.
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
