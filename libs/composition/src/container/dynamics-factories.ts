import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamicsCrmGateway, FIELDLINK_EXTENSION_SOLUTION_ZIP } from '@fieldlink/adapter-dynamics';
import { emulatorCredential, startDataverseEmulator } from '@fieldlink/dataverse-emulator';
import { redactUrl } from '../config/redact-url.js';
import type { AdapterFactories } from './port-adapters.js';
import { DATA_FILES, dataDirOf } from './sql-factories.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The CRM on Dataverse: an organisation at `dataverse.url` (Dynamics 365, or an emulator run on
 * its own), with a client-secret credential from `dataverse.tenantId`, `clientId` and the
 * `clientSecret` of the environment (without one, only a loopback URL is accepted); or, with
 * `dataverse.embedded`, the Dataverse emulator started here on 127.0.0.1, its IoT service endpoint
 * posting RemoteExecutionContext messages to this process's outbound queue as a CFS organisation
 * posts to its Service Bus queue, and stopped with the adapter.
 */
export const DYNAMICS_FACTORIES: AdapterFactories = {
  crm: {
    dataverse: async ({ config, log, builtPort }) => {
      const { url, tenantId, clientId, clientSecret, maxConcurrency, batchSize, embedded, extension, importExtension, emulatorAccessToken } = config.dataverse;
      const settings = { batchSize, extension, serviceProtection: { maxConcurrency } };
      if (embedded) {
        const outboundQueue = builtPort('outboundQueue');
        // On the durable profile the emulator keeps its records in a SQLite file of the data directory.
        const database = config.dataverse.database ?? (config.profile === 'durable' ? join(dataDirOf(config), DATA_FILES.dataverse) : undefined);
        const solutions = importExtension ? [fileURLToPath(FIELDLINK_EXTENSION_SOLUTION_ZIP)] : [];
        const emulator = await startDataverseEmulator({
          host: '127.0.0.1',
          port: 0,
          log,
          solutions,
          ...(outboundQueue === undefined ? {} : { outboundQueue }),
          ...(emulatorAccessToken === undefined ? {} : { accessToken: emulatorAccessToken }),
          ...(database === undefined ? {} : { database }),
        });
        log.info('dataverse.emulator-started', {
          url: emulator.url,
          webApiUrl: emulator.webApiUrl,
          serviceEndpoint: outboundQueue === undefined ? 'none' : `outbound queue (${config.ports.outboundQueue})`,
          organisation: importExtension ? 'stock CFS + Fieldlink extension solution' : 'stock CFS',
          database: database ?? 'in memory',
        });
        try {
          // The emulator requires a bearer token, as Dataverse does: the adapter signs in with a fixed one.
          return {
            port: new DynamicsCrmGateway({ organizationUrl: emulator.url, credential: emulatorCredential(emulatorAccessToken), ...settings }, { log }),
            close: () => emulator.close(),
          };
        } catch (e) {
          await emulator.close();
          throw e;
        }
      }
      const organizationUrl = url!;
      // Without an app registration, only an emulator on loopback is reachable: it takes a fixed token.
      const credential =
        tenantId !== undefined && clientId !== undefined && clientSecret !== undefined
          ? { clientSecret: { tenantId, clientId, secret: clientSecret } }
          : LOOPBACK.has(new URL(organizationUrl).hostname)
            ? { credential: emulatorCredential(emulatorAccessToken) }
            : {};
      if (config.ports.outboundQueue === 'in-memory') {
        // An organisation elsewhere cannot post into this process: its service endpoint needs a queue both can reach.
        log.warn('dataverse.service-endpoint-unreachable', {
          url: redactUrl(organizationUrl),
          message:
            'the organisation\u2019s service endpoint cannot post to an in-memory outbound queue, so this process sends commands and registers devices itself; for the CFS path set ports.outboundQueue to service-bus, or leave out dataverse.url for the emulator in process',
        });
      }
      return { port: new DynamicsCrmGateway({ organizationUrl, ...credential, ...settings }, { log }) };
    },
  },
};
