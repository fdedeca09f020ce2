import { DynamicsCrmGateway } from '@fieldlink/adapter-dynamics';
import type { AdapterFactories } from './port-adapters.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The CRM on Dataverse (Dynamics 365, or the local Dataverse emulator): `dataverse.url`, and a
 * client-secret credential from `dataverse.tenantId`, `clientId` and the `clientSecret` of the
 * environment. Without a credential only a loopback URL (the emulator) is accepted.
 */
export const DYNAMICS_FACTORIES: AdapterFactories = {
  crm: {
    dataverse: async ({ config, log }) => {
      const { url, tenantId, clientId, clientSecret, maxConcurrency, batchSize } = config.dataverse;
      const organizationUrl = url!;
      const credential = tenantId !== undefined && clientId !== undefined && clientSecret !== undefined ? { clientSecret: { tenantId, clientId, secret: clientSecret } } : { allowAnonymous: LOOPBACK.has(new URL(organizationUrl).hostname) };
      return { port: new DynamicsCrmGateway({ organizationUrl, ...credential, batchSize, serviceProtection: { maxConcurrency } }, { log }) };
    },
  },
};
