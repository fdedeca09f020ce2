import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import { crmGatewayConformance } from '@fieldlink/ports/testing';
import { emulatorCredential, startDataverseEmulator } from '@fieldlink/dataverse-emulator';

// The Dynamics adapter, over real HTTP on loopback, against the emulator: the same suite the in-memory CRM passes.
crmGatewayConformance('DynamicsCrmGateway on the Dataverse emulator', async () => {
  const emulator = await startDataverseEmulator();
  const crm = new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential(), requestTimeoutMs: 5_000 });
  return {
    crm,
    advanceTime: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => emulator.close(),
  };
});
