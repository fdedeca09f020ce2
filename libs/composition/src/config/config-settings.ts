/**
 * Every setting of the configuration document, with its environment variable, for reading the
 * environment and for the reference in apps/cli/README.md. The environment variable of a setting
 * is `FIELDLINK_` + its path in upper snake case: `serviceBus.connectionString` →
 * `FIELDLINK_SERVICE_BUS_CONNECTION_STRING`.
 */
export interface SettingReference {
  readonly path: string;
  readonly kind: 'string' | 'number' | 'boolean';
  readonly description: string;
  readonly default?: string;
  /** Read from the environment only, and redacted in every dump. */
  readonly secret?: boolean;
}

const portSetting = (port: string, adapters: string, description: string): SettingReference => ({
  path: `ports.${port}`,
  kind: 'string',
  description: `${description} (${adapters})`,
  default: 'from the profile',
});

export const SETTINGS: readonly SettingReference[] = [
  {
    path: 'profile',
    kind: 'string',
    description:
      '`embedded` (every port in memory), `durable` (the embedded default on disk under `storage.dataDir`: the IoT hub, queues, status store, rule state in SQLite, the CRM in the Dataverse emulator on a SQLite file) or `azure` (Azure and Dynamics 365 adapters)',
    default: '`embedded`; `durable` for `fieldlink up` without `--ephemeral`',
  },
  portSetting('telemetry', '`in-memory`, `event-hubs`, `sqlite`', 'device-to-cloud telemetry intake and the devices\u2019 send side'),
  portSetting('alertsQueue', '`in-memory`, `service-bus`, `sqlite`', 'the alerts queue (flow 6)'),
  portSetting('outboundQueue', '`in-memory`, `service-bus`, `sqlite`', 'the outbound queue of CRM messages (flow 13)'),
  portSetting('crm', '`in-memory`, `dataverse`', 'the CRM gateway'),
  portSetting('deviceRegistry', '`in-memory`, `iot-hub`, `sqlite`', 'the device registry and twins'),
  portSetting('cloudToDevice', '`in-memory`, `iot-hub`, `sqlite`', 'cloud-to-device commands and their delivery feedback'),
  portSetting('deviceClient', '`in-memory`, `iot-hub`, `sqlite`', 'the device side, for the simulated thermostats'),
  portSetting('referenceData', '`in-memory`, `blob`', 'device rules (reference data)'),
  portSetting(
    'statusStore',
    '`in-memory`, `sqlite`, `postgres`, `azure-sql`',
    'per-minute aggregates, the CFS `crmiotevents` table and device health; on SQL also the rejected telemetry and the alert history',
  ),
  portSetting('ruleStateStore', '`in-memory`, `blob`, `sqlite`', 'rule state and ingest checkpoints that survive restarts'),
  { path: 'inMemory.partitionCount', kind: 'number', description: 'partitions of the in-memory hub, and of a new SQLite hub file (`hub.db`)', default: '4' },
  { path: 'inMemory.lockDurationMs', kind: 'number', description: 'peek-lock duration of the in-memory and SQLite queues', default: '60000' },
  {
    path: 'inMemory.maxDeliveryCount',
    kind: 'number',
    description: 'deliveries before an in-memory or SQLite queue dead-letters a message (and the SQLite hub gives up a cloud-to-device message)',
    default: '10',
  },
  { path: 'inMemory.duplicateDetectionWindowMs', kind: 'number', description: 'duplicate detection window of the in-memory queues', default: '600000' },
  { path: 'serviceBus.connectionString', kind: 'string', description: 'Service Bus namespace connection string', secret: true },
  { path: 'serviceBus.alertsQueue', kind: 'string', description: 'queue name of the alerts queue (CFS: `<prefix>-iot`)', default: 'alerts' },
  { path: 'serviceBus.outboundQueue', kind: 'string', description: 'queue name of the outbound queue (CFS: `<prefix>-crm`)', default: 'outbound' },
  { path: 'serviceBus.maxConcurrentCalls', kind: 'number', description: 'messages handled at once per queue (handlers run side by side)', default: '1' },
  {
    path: 'serviceBus.operationTimeoutMs',
    kind: 'number',
    description:
      'how long a send, receive or settlement waits for Service Bus before it is retried (a send caught by a dropped connection waits this long; the SDK\u2019s own default is 60000)',
    default: '10000',
  },
  {
    path: 'serviceBus.maxAutoLockRenewalMs',
    kind: 'number',
    description:
      'how long the lock of a message being handled is renewed after its receive, so work that outlasts the queue\u2019s lock duration (a CRM backing off) is not handled again meanwhile; past it the lock lapses (0: locks are not renewed)',
    default: '300000',
  },
  {
    path: 'serviceBus.retryDelayMs',
    kind: 'number',
    description: 'wait between retries of a failed Service Bus operation (the SDK\u2019s own default is 30000)',
    default: '1000',
  },
  { path: 'eventHubs.connectionString', kind: 'string', description: 'the IoT hub\u2019s Event Hubs-compatible endpoint connection string', secret: true },
  {
    path: 'eventHubs.consumerGroup',
    kind: 'string',
    description: 'consumer group the stream processor reads telemetry on (the CFS alert job\u2019s); must exist on the hub',
    default: 'rulescg',
  },
  {
    path: 'eventHubs.repliesConsumerGroup',
    kind: 'string',
    description: 'consumer group the orchestrator reads the devices\u2019 replies to commands on; must exist on the hub',
    default: 'repliescg',
  },
  { path: 'eventHubs.checkpointContainer', kind: 'string', description: 'blob container of the checkpoints', default: 'checkpoints' },
  { path: 'iotHub.connectionString', kind: 'string', description: 'IoT hub service connection string (registry, cloud-to-device, feedback)', secret: true },
  {
    path: 'iotHub.hostName',
    kind: 'string',
    description:
      'IoT hub host name, for simulated devices connecting with their own keys; `host:port` for a hub listening on another port than 443 (a local stack)',
    default: 'the `HostName` of the service connection string',
  },
  {
    path: 'iotHub.deviceTransport',
    kind: 'string',
    description: 'device transport of the simulated devices: `mqtt` (what thermostats speak; cannot reject or abandon a command) or `amqp`',
    default: 'mqtt',
  },
  { path: 'blob.connectionString', kind: 'string', description: 'storage account connection string (reference data, rule state, checkpoints)', secret: true },
  { path: 'blob.referenceDataContainer', kind: 'string', description: 'container of `devicerules/{date}/{time}/devicerules.json`', default: 'devicerules' },
  { path: 'blob.ruleStateContainer', kind: 'string', description: 'container of the rule state snapshots', default: 'rulestate' },
  { path: 'blob.refreshIntervalMs', kind: 'number', description: 'how often reference data is read again', default: '60000' },
  {
    path: 'tls.caFile',
    kind: 'string',
    description:
      'PEM file of CA certificates every Azure client trusts besides the system\u2019s (IoT hub REST, AMQPS and MQTTS, Service Bus, Event Hubs, Blob): for services behind a private CA, such as the local Azure stack (`npm run stack:azure`)',
  },
  { path: 'dataverse.url', kind: 'string', description: 'organisation URL, e.g. `https://contoso.crm.dynamics.com`' },
  {
    path: 'dataverse.embedded',
    kind: 'boolean',
    description:
      '`true`: start the Dataverse emulator in this process (127.0.0.1, its service endpoint posting to the outbound queue) instead of an organisation at `dataverse.url`',
    default: '`true` without `dataverse.url` on the embedded and durable profiles',
  },
  {
    path: 'dataverse.database',
    kind: 'string',
    description: 'SQLite file of the embedded Dataverse emulator',
    default: '`<storage.dataDir>/dataverse.db` on the durable profile, in memory otherwise',
  },
  { path: 'dataverse.tenantId', kind: 'string', description: 'Microsoft Entra tenant of the app registration' },
  { path: 'dataverse.clientId', kind: 'string', description: 'application (client) id of the app registration' },
  { path: 'dataverse.clientSecret', kind: 'string', description: 'client secret of the app registration', secret: true },
  {
    path: 'dataverse.emulatorAccessToken',
    kind: 'string',
    description:
      'the bearer token the Dataverse emulator in this process requires, and the one sent to an emulator at a loopback `dataverse.url` (unset: the emulator takes any token, and this process sends `fieldlink-emulator`)',
    secret: true,
  },
  { path: 'dataverse.maxConcurrency', kind: 'number', description: 'concurrent Web API requests (service protection allows 52)', default: '52' },
  { path: 'dataverse.batchSize', kind: 'number', description: 'operations per `$batch` changeset for bulk writes', default: '10' },
  {
    path: 'dataverse.extension',
    kind: 'string',
    description:
      '`discover`: one read of `EntityDefinitions` at the first command write tells whether the organisation has the Fieldlink extension solution, whose column is then used too; `never`: keep to stock columns without asking',
    default: 'discover',
  },
  {
    path: 'dataverse.importExtension',
    kind: 'boolean',
    description:
      '`true`: the embedded Dataverse emulator imports the Fieldlink extension solution before it serves (without it, a stock organisation with CFS)',
    default: 'false',
  },
  {
    path: 'alerts.enrichment',
    kind: 'string',
    description:
      'who maps an IoT alert\u2019s device to its device record and customer asset and parents repeats: `orchestrator` (the inbound flow, then writes them) or `organisation` (the inbound flow writes the five columns the CFS Logic App writes, `msdyn_alertdata`, `msdyn_alerttime`, `msdyn_alerttoken`, `msdyn_description`, `msdyn_deviceid`, and the CRM\u2019s own plug-ins do the rest)',
    default:
      '`organisation` with `ports.crm` `dataverse` (a real organisation, or the emulator in process, which enriches as the CFS solution does), else `orchestrator`',
  },
  {
    path: 'rules.file',
    kind: 'string',
    description:
      'device rules: a CFS `devicerules.json` or a native rule document (default: the device types\u2019 rules, the CFS thermostat rule Temperature > 70 and those of `deviceTypes.file`)',
  },
  { path: 'rules.defaultDeviceType', kind: 'string', description: 'device type of a device the metadata does not know', default: 'Thermostat' },
  {
    path: 'rules.workers',
    kind: 'number',
    description:
      'worker threads the stream processor runs its telemetry partitions on, each partition on one of them (0: all on the main thread; at most the partitions are used). With the `sqlite` or `event-hubs` telemetry adapter each worker reads its partitions from the hub itself, and commits to its own connections to the status store and rule state where those are not in memory (two workers on two cores ingested 1.1 to 1.45 times what none does, docs/performance.md; with as many workers as cores, give node `--single-threaded-gc`, which the stream processor logs as `ingest.workers-collector` where it is missing); with the in-memory hub the main thread hands each batch to its worker, which costs it more than a second core gives back (about 0.8 to 0.93 of none)',
    default: '0',
  },
  {
    path: 'rules.workerSemiSpaceMb',
    kind: 'number',
    description:
      'semi-space of each of those worker threads\u2019 young generation in MB, 1 to 1024 (V8\u2019s `--max-semi-space-size` for the thread; the main thread takes that flag from the command line, 16 in the stream processor\u2019s scripts)',
    default: '16',
  },
  {
    path: 'rules.commitIntervalMs',
    kind: 'number',
    description:
      'milliseconds between two commits of a telemetry partition (aggregate rows and health written, rule state saved, the intake checkpointed; 0: every batch)',
    default: '1000',
  },
  {
    path: 'deviceTypes.file',
    kind: 'string',
    description:
      'device type document (JSON or YAML): device categories with their readings, CFS threshold rules and commands (every numeric parameter with its range); the built-in thermostat is always known',
  },
  {
    path: 'automation.file',
    kind: 'string',
    description:
      'automation document (JSON or YAML): the rules framework, device category + rule output → case, work order, command, notification or nothing (default: none, the alert record only, as CFS out of the box)',
  },
  {
    path: 'commands.ttlMs',
    kind: 'number',
    description: 'time to live of a command: not sent by then it fails, sent without delivery feedback by then it expires',
    default: '3600000',
  },
  { path: 'commands.answerTimeoutMs', kind: 'number', description: 'a delivered command the device has not answered by then expires', default: '600000' },
  { path: 'commands.sweepIntervalMs', kind: 'number', description: 'how often requested commands are sent again and overdue ones expired', default: '10000' },
  { path: 'simulator.devices', kind: 'number', description: 'simulated thermostats of the local stack', default: '10' },
  { path: 'simulator.drifting', kind: 'number', description: 'how many of them drift over the threshold', default: '1' },
  { path: 'simulator.intervalMs', kind: 'number', description: 'milliseconds between two readings of one thermostat', default: '1000' },
  { path: 'simulator.heartbeatIntervalMs', kind: 'number', description: 'milliseconds between two heartbeats (0: none)', default: '30000' },
  { path: 'simulator.driftPerMinute', kind: 'number', description: 'degrees per minute of a drifting thermostat', default: '30' },
  {
    path: 'simulator.sensors.deviceType',
    kind: 'string',
    description: 'device type (from `deviceTypes.file`) of extra simulated devices beside the thermostats',
  },
  { path: 'simulator.sensors.devices', kind: 'number', description: 'how many simulated devices of `simulator.sensors.deviceType`', default: '0' },
  { path: 'simulator.sensors.drifting', kind: 'number', description: 'how many of them drift over their threshold', default: '0' },
  {
    path: 'storage.dataDir',
    kind: 'string',
    description: 'directory of the SQLite files (`status.db`, `queues.db`, `rulestate.db`, `dataverse.db`), relative to the working directory',
    default: '.fieldlink',
  },
  {
    path: 'storage.postgresConnectionString',
    kind: 'string',
    description: 'PostgreSQL of the status store (`ports.statusStore: postgres`), `postgres://user:password@host:port/database`',
    secret: true,
  },
  {
    path: 'storage.azureSqlConnectionString',
    kind: 'string',
    description: 'Azure SQL / SQL Server database of the status store (`ports.statusStore: azure-sql`), an ADO.NET connection string',
    secret: true,
  },
  {
    path: 'startup.timeoutMs',
    kind: 'number',
    description:
      'milliseconds `fieldlink up` and the services wait for every part to start (connections to the hub, Event Hubs, Dataverse, Service Bus) before they stop with an error naming the part; 0: wait for ever (`--startup-timeout`)',
    default: '60000',
  },
  {
    path: 'health.port',
    kind: 'number',
    description:
      'port of the health endpoints `/healthz` (alive) and `/readyz` (200 once every part started, 503 with what is not ready); `0`: no health server',
    default: '0',
  },
  { path: 'health.host', kind: 'string', description: 'address the health endpoints bind', default: '127.0.0.1' },
  { path: 'log.format', kind: 'string', description: '`text` for people, `json` for one JSON object per line', default: 'text' },
];

const snake = (segment: string): string => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

export const envNameOf = (path: string): string => `FIELDLINK_${path.split('.').map(snake).join('_')}`;

/** The environment variable that names the configuration file, when `--config` is not given. */
export const CONFIG_FILE_ENV = 'FIELDLINK_CONFIG';
