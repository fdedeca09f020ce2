import type { ProbeProblems } from '@fieldlink/adapter-azure';
import { credentialOf, scopeOf } from '@fieldlink/adapter-dynamics';
import { emulatorCredential } from '@fieldlink/dataverse-emulator';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import { endpointOfConnectionString, redactUrl } from '../config/redact-url.js';

/** One check of `fieldlink doctor`: the service, where it is, and what is wrong (nothing: all well). */
export interface DoctorCheck {
  /** `service-bus`, `event-hubs`, `blob`, `iot-hub`, `dataverse`. */
  readonly service: string;
  /** Where (the endpoint, keys never shown) and the settings that say so. */
  readonly target: string;
  readonly problems: readonly string[];
}

/** The probes doctor uses; tests may replace one. */
export interface DoctorProbes {
  readonly serviceBus: (connectionString: string, queues: readonly string[]) => Promise<ProbeProblems>;
  readonly eventHub: (connectionString: string, consumerGroups: readonly string[]) => Promise<ProbeProblems>;
  readonly blob: (connectionString: string, containers: readonly string[]) => Promise<ProbeProblems>;
  readonly iotHub: (connectionString: string) => Promise<ProbeProblems>;
  readonly dataverse: (config: FieldlinkConfig) => Promise<ProbeProblems>;
}

// Loaded on use, as the adapters are: a configuration without Azure never loads the Azure SDKs.
const azure = () => import('@fieldlink/adapter-azure');

export const DOCTOR_PROBES: DoctorProbes = {
  serviceBus: async (cs, queues) => (await azure()).probeServiceBusQueues(cs, queues),
  eventHub: async (cs, groups) => (await azure()).probeEventHub(cs, groups),
  blob: async (cs, containers) => (await azure()).probeBlobContainers({ connectionString: cs }, containers),
  iotHub: async (cs) => (await azure()).probeIotHub(cs),
  dataverse: (config) => whoAmI(config),
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const where = (connectionString: string, setting: string): string =>
  `${endpointOfConnectionString(connectionString) ?? '(no endpoint in the connection string)'} (${setting})`;

/**
 * Checks a configuration against the services it names: for every port on an Azure or Dynamics
 * adapter, the service is reachable, the credentials are accepted, and the queues, consumer
 * groups and containers the services need are there; Dataverse answers WhoAmI. Ports in memory,
 * on SQLite or on the embedded emulator have nothing outside to check. Connection strings the
 * configuration requires are already checked by the configuration itself.
 */
export async function runDoctor(config: FieldlinkConfig, probes: DoctorProbes = DOCTOR_PROBES): Promise<DoctorCheck[]> {
  const checks: Array<Promise<DoctorCheck>> = [];
  const check = (service: string, target: string, run: () => Promise<ProbeProblems>): void => {
    checks.push(
      run().then(
        (problems) => ({ service, target, problems }),
        (error: unknown) => ({ service, target, problems: [error instanceof Error ? error.message.split('\n')[0]! : String(error)] }),
      ),
    );
  };
  const { ports } = config;
  const queues = [
    ...(ports.alertsQueue === 'service-bus' ? [config.serviceBus.alertsQueue] : []),
    ...(ports.outboundQueue === 'service-bus' ? [config.serviceBus.outboundQueue] : []),
  ];
  const sb = config.serviceBus.connectionString;
  if (queues.length > 0 && sb !== undefined)
    check('service-bus', `${where(sb, 'serviceBus.connectionString')}, queues ${queues.join(', ')}`, () => probes.serviceBus(sb, queues));
  const eh = config.eventHubs.connectionString;
  if (ports.telemetry === 'event-hubs' && eh !== undefined) {
    const groups = [config.eventHubs.consumerGroup, config.eventHubs.repliesConsumerGroup];
    check('event-hubs', `${where(eh, 'eventHubs.connectionString')}, consumer groups ${groups.join(', ')}`, () => probes.eventHub(eh, groups));
  }
  const blob = config.blob.connectionString;
  // The checkpoint and rule state containers are created when missing; the reference data must be there.
  if (ports.referenceData === 'blob' && blob !== undefined)
    check('blob', `${where(blob, 'blob.connectionString')}, container ${config.blob.referenceDataContainer}`, () =>
      probes.blob(blob, [config.blob.referenceDataContainer]),
    );
  const hub = config.iotHub.connectionString;
  if ((ports.deviceRegistry === 'iot-hub' || ports.cloudToDevice === 'iot-hub') && hub !== undefined)
    check('iot-hub', where(hub, 'iotHub.connectionString'), () => probes.iotHub(hub));
  if (ports.crm === 'dataverse' && !config.dataverse.embedded && config.dataverse.url !== undefined)
    check('dataverse', `${redactUrl(config.dataverse.url)} (dataverse.url)`, () => probes.dataverse(config));
  return Promise.all(checks);
}

/** Dataverse: signs in as the adapter does and calls WhoAmI. */
export async function whoAmI(config: FieldlinkConfig, timeoutMs = 20_000): Promise<ProbeProblems> {
  const { url, tenantId, clientId, clientSecret, emulatorAccessToken } = config.dataverse;
  if (url === undefined) return ['dataverse.url is not set'];
  const credential: { getToken(scope: string): Promise<{ token: string } | null> } | undefined =
    tenantId !== undefined && clientId !== undefined && clientSecret !== undefined
      ? credentialOf({ organizationUrl: url, clientSecret: { tenantId, clientId, secret: clientSecret } })
      : LOOPBACK.has(new URL(url).hostname)
        ? emulatorCredential(emulatorAccessToken)
        : undefined;
  if (credential === undefined) return ['no credential: set dataverse.tenantId, dataverse.clientId and FIELDLINK_DATAVERSE_CLIENT_SECRET'];
  let token: string;
  try {
    const got = await credential.getToken(scopeOf(url));
    if (got === null) return ['signing in returned no token'];
    token = got.token;
  } catch (error) {
    return [`signing in failed: ${(error as Error).message.split('\n')[0]}`];
  }
  try {
    const response = await fetch(new URL('api/data/v9.2/WhoAmI', url.endsWith('/') ? url : `${url}/`), {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.ok) return [];
    if (response.status === 401 || response.status === 403)
      return [`WhoAmI answered ${response.status}: the application user is not authorised in this organisation`];
    return [`WhoAmI answered ${response.status} ${response.statusText}`];
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return [`WhoAmI unreachable: ${(error as Error).message}${cause === undefined ? '' : ` (${cause})`}`];
  }
}

/** The report: one line per problem (`✘ service target: problem`), one per service that is well, and a last line. */
export function formatDoctor(checks: readonly DoctorCheck[]): string {
  if (checks.length === 0) return 'Nothing to check: every port is in this process (in memory, SQLite or the embedded Dataverse emulator).';
  const lines = checks.flatMap((c) => (c.problems.length === 0 ? [`✔ ${c.service} ${c.target}`] : c.problems.map((p) => `✘ ${c.service} ${c.target}: ${p}`)));
  const problems = checks.reduce((n, c) => n + c.problems.length, 0);
  return [...lines, problems === 0 ? `All ${checks.length} services answer as configured.` : `${problems} problem${problems === 1 ? '' : 's'} found.`].join(
    '\n',
  );
}
