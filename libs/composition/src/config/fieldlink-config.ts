import { z } from 'zod';

/**
 * The one configuration document of Fieldlink: which adapter plays each port, and each adapter's
 * settings. Every section has defaults, so an empty document is the embedded default (every port
 * in memory). Unknown keys are refused, so a misspelt setting never goes unnoticed.
 */

/** The adapters each port can be played by. In-memory is the embedded default for every port. */
export const PORT_ADAPTERS = {
  telemetry: ['in-memory', 'event-hubs', 'sqlite'],
  alertsQueue: ['in-memory', 'service-bus', 'sqlite'],
  outboundQueue: ['in-memory', 'service-bus', 'sqlite'],
  crm: ['in-memory', 'dataverse'],
  deviceRegistry: ['in-memory', 'iot-hub', 'sqlite'],
  cloudToDevice: ['in-memory', 'iot-hub', 'sqlite'],
  deviceClient: ['in-memory', 'iot-hub', 'sqlite'],
  referenceData: ['in-memory', 'blob'],
  statusStore: ['in-memory', 'sqlite', 'postgres', 'azure-sql'],
  ruleStateStore: ['in-memory', 'blob', 'sqlite'],
} as const satisfies Record<string, readonly [string, ...string[]]>;

export type PortName = keyof typeof PORT_ADAPTERS;
export type AdapterName<P extends PortName = PortName> = (typeof PORT_ADAPTERS)[P][number];
export const PORT_NAMES = Object.keys(PORT_ADAPTERS) as PortName[];

/**
 * What each profile puts on each port unless `ports` says otherwise. `durable` is the embedded
 * default kept on disk under `storage.dataDir` (what `fieldlink up` runs): the IoT hub (telemetry,
 * registry, cloud-to-device, device client), queues, status store, rejected telemetry and rule
 * state in SQLite, the CRM in the Dataverse emulator on a SQLite file.
 */
export const PROFILE_PORTS: Record<'embedded' | 'durable' | 'azure', { readonly [P in PortName]: AdapterName<P> }> = {
  embedded: {
    telemetry: 'in-memory',
    alertsQueue: 'in-memory',
    outboundQueue: 'in-memory',
    crm: 'in-memory',
    deviceRegistry: 'in-memory',
    cloudToDevice: 'in-memory',
    deviceClient: 'in-memory',
    referenceData: 'in-memory',
    statusStore: 'in-memory',
    ruleStateStore: 'in-memory',
  },
  durable: {
    telemetry: 'sqlite',
    alertsQueue: 'sqlite',
    outboundQueue: 'sqlite',
    crm: 'dataverse',
    deviceRegistry: 'sqlite',
    cloudToDevice: 'sqlite',
    deviceClient: 'sqlite',
    referenceData: 'in-memory',
    statusStore: 'sqlite',
    ruleStateStore: 'sqlite',
  },
  azure: {
    telemetry: 'event-hubs',
    alertsQueue: 'service-bus',
    outboundQueue: 'service-bus',
    crm: 'dataverse',
    deviceRegistry: 'iot-hub',
    cloudToDevice: 'iot-hub',
    deviceClient: 'iot-hub',
    referenceData: 'blob',
    statusStore: 'in-memory',
    ruleStateStore: 'blob',
  },
};

const ms = (min: number, max: number) =>
  z.int(`expected a whole number of milliseconds`).min(min, `expected at least ${min} ms`).max(max, `expected at most ${max} ms`);
const count = (min: number, max: number) => z.int('expected a whole number').min(min, `expected at least ${min}`).max(max, `expected at most ${max}`);
const name = z.string().trim().min(1, 'expected a non-empty name');
/** Secrets: only ever set from the environment (see config-environment.ts), never printed. */
const secret = z.string().min(1, 'expected a non-empty value');

const portsSchema = z.strictObject(
  Object.fromEntries(
    PORT_NAMES.map((p) => [p, z.enum(PORT_ADAPTERS[p], { error: `expected one of ${PORT_ADAPTERS[p].map((a) => `"${a}"`).join(', ')}` }).optional()]),
  ) as unknown as {
    [P in PortName]: z.ZodOptional<z.ZodEnum<{ [A in AdapterName<P>]: A }>>;
  },
);

export const fieldlinkConfigSchema = z.strictObject({
  /** `embedded`: every port in memory. `durable`: the embedded default on disk. `azure`: Azure and Dynamics 365 adapters, as PROFILE_PORTS says. */
  profile: z.enum(['embedded', 'durable', 'azure'], { error: 'expected "embedded", "durable" or "azure"' }).default('embedded'),
  /** Per port, overriding the profile. */
  ports: portsSchema.prefault({}),
  inMemory: z
    .strictObject({
      partitionCount: count(1, 32).default(4),
      lockDurationMs: ms(100, 300_000).default(60_000),
      maxDeliveryCount: count(1, 100).default(10),
      duplicateDetectionWindowMs: ms(0, 7 * 24 * 3_600_000).default(600_000),
    })
    .prefault({}),
  serviceBus: z
    .strictObject({
      connectionString: secret.optional(),
      alertsQueue: name.default('alerts'),
      outboundQueue: name.default('outbound'),
      maxConcurrentCalls: count(1, 64).default(1),
      /** How long one operation (send, receive, settle) waits for the service before it is retried: a send caught by a dropped connection waits this long. */
      operationTimeoutMs: ms(1_000, 600_000).default(10_000),
      /** The wait between retries of a failed operation (the SDK's fixed retry delay). */
      retryDelayMs: ms(0, 120_000).default(1_000),
      /** How long the lock of a message being handled is renewed after its receive (the SDK's `maxAutoLockRenewalDurationInMs`); 0 renews none. */
      maxAutoLockRenewalMs: ms(0, 24 * 3_600_000).default(300_000),
    })
    .prefault({}),
  eventHubs: z
    .strictObject({
      connectionString: secret.optional(),
      /** The stream processor's consumer group on the hub's events endpoint: the CFS alert job's `rulescg`. */
      consumerGroup: name.default('rulescg'),
      /** The orchestrator's consumer group for the devices' replies to commands (a group of its own, so it does not share `rulescg`'s position). */
      repliesConsumerGroup: name.default('repliescg'),
      checkpointContainer: name.default('checkpoints'),
    })
    .prefault({}),
  iotHub: z
    .strictObject({
      connectionString: secret.optional(),
      /** The hub's host name, for devices connecting with their own keys; `host:port` for a hub on another port than 443. */
      hostName: name.optional(),
      deviceTransport: z.enum(['mqtt', 'amqp'], { error: 'expected "mqtt" or "amqp"' }).default('mqtt'),
    })
    .prefault({}),
  blob: z
    .strictObject({
      connectionString: secret.optional(),
      referenceDataContainer: name.default('devicerules'),
      ruleStateContainer: name.default('rulestate'),
      refreshIntervalMs: ms(1_000, 3_600_000).default(60_000),
    })
    .prefault({}),
  /** TLS trust of the Azure clients. */
  tls: z
    .strictObject({
      /** A PEM file of CA certificates to trust besides the system's, for services behind a private CA (a local stack). */
      caFile: name.optional(),
    })
    .prefault({}),
  dataverse: z
    .strictObject({
      /** The organisation URL, e.g. https://contoso.crm.dynamics.com. */
      url: z.url({ error: 'expected an absolute URL such as https://contoso.crm.dynamics.com' }).optional(),
      /**
       * Start the Dataverse emulator in this process (on 127.0.0.1, its service endpoint posting to
       * the outbound queue) instead of talking to an organisation at `url`. Unset: embedded when
       * no `url` is given on the embedded profile.
       */
      embedded: z.boolean({ error: 'expected true or false' }).optional(),
      tenantId: name.optional(),
      clientId: name.optional(),
      clientSecret: secret.optional(),
      /** The embedded emulator's SQLite file; `<storage.dataDir>/dataverse.db` on the durable profile, in memory otherwise. */
      database: name.optional(),
      /** The bearer token the Dataverse emulator requires (any token when unset), and the one this process sends it. */
      emulatorAccessToken: secret.optional(),
      maxConcurrency: count(1, 52).default(52),
      batchSize: count(1, 1000).default(10),
      /** The optional Fieldlink extension solution: `discover` it with one read of EntityDefinitions, or `never` ask and keep to stock columns. */
      extension: z.enum(['discover', 'never'], { error: 'expected "discover" or "never"' }).default('discover'),
      /** The embedded emulator imports the Fieldlink extension solution before it serves (a stock organisation without it). */
      importExtension: z.boolean({ error: 'expected true or false' }).default(false),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      /**
       * Who enriches an IoT alert once it is created: `orchestrator` (the inbound flow maps the
       * device to its record and customer asset and parents repeats, then writes them), or
       * `organisation` (the inbound flow writes what the CFS Logic App writes, five columns, and
       * the CRM's own plug-ins map the device and parent the alert, as in a CFS deployment).
       * Unset: `organisation` against a Dataverse organisation, `orchestrator` otherwise.
       */
      enrichment: z.enum(['orchestrator', 'organisation'], { error: 'expected "orchestrator" or "organisation"' }).optional(),
    })
    .prefault({}),
  rules: z
    .strictObject({
      /** A CFS devicerules.json or a native rule document; the CFS thermostat rule when absent. */
      file: name.optional(),
      /** The device type assumed for a device the metadata does not know (CFS joins on Thermostat). */
      defaultDeviceType: name.default('Thermostat'),
      /** How often each telemetry partition commits: aggregate rows and health written, rule state saved, the intake's checkpoint marked. */
      commitIntervalMs: ms(0, 300_000).default(1_000),
      /** Worker threads the stream processor runs its telemetry partitions on; 0 runs them on the main thread. */
      workers: count(0, 64).default(0),
      /**
       * Semi-space of each worker thread's young generation in MB (V8's `--max-semi-space-size`, for
       * the threads of `workers`; 16 as flows' `DEFAULT_INGEST_SEMI_SPACE_MB`, V8's default): larger,
       * fewer scavenges and fewer bytes promoted, but more CPU per reading on workers
       * (docs/performance.md, "Fourth round").
       */
      workerSemiSpaceMb: count(1, 1_024).default(16),
    })
    .prefault({}),
  /** Device categories as data (readings, CFS rules, commands); the built-in thermostat when absent. */
  deviceTypes: z.strictObject({ file: name.optional() }).prefault({}),
  /** The rules framework (flow 11) as a document; none (the alert record only, CFS out of the box) when absent. */
  automation: z.strictObject({ file: name.optional() }).prefault({}),
  commands: z
    .strictObject({
      /** Time to live of a command: not sent by then, it fails; sent and no delivery feedback by then, it expires. */
      ttlMs: ms(1_000, 2 * 24 * 3_600_000).default(3_600_000),
      /** A delivered command the device has not answered within this time expires. */
      answerTimeoutMs: ms(1_000, 2 * 24 * 3_600_000).default(600_000),
      /** How often requested commands are sent again and overdue ones expired. */
      sweepIntervalMs: ms(100, 3_600_000).default(10_000),
    })
    .prefault({}),
  simulator: z
    .strictObject({
      devices: count(0, 100_000).default(10),
      drifting: count(0, 100_000).default(1),
      intervalMs: ms(10, 3_600_000).default(1_000),
      heartbeatIntervalMs: ms(0, 3_600_000).default(30_000),
      driftPerMinute: z.number().min(-600).max(600).default(30),
      /** Simulated devices of another device type of the document (e.g. a pressure sensor), beside the thermostats. */
      sensors: z
        .strictObject({
          deviceType: name.optional(),
          devices: count(0, 100_000).default(0),
          drifting: count(0, 100_000).default(0),
        })
        .prefault({}),
    })
    .prefault({}),
  storage: z
    .strictObject({
      /** Where the SQLite files live (`sqlite` adapters, the emulator's file on the durable profile); relative to the working directory. */
      dataDir: name.default('.fieldlink'),
      /** `ports.statusStore: postgres`: `postgres://user:password@host:port/database`. */
      postgresConnectionString: secret.optional(),
      /** `ports.statusStore: azure-sql`: the ADO.NET connection string of the database. */
      azureSqlConnectionString: secret.optional(),
    })
    .prefault({}),
  startup: z
    .strictObject({
      /** How long `fieldlink up` and the services wait for every part to start before they give up (0: no limit). */
      timeoutMs: ms(0, 3_600_000).default(60_000),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** Port of the health endpoints (`/healthz`, `/readyz`) on `health.host`; 0 (the default): no health server. */
      port: count(0, 65_535).default(0),
      /** Address the health endpoints bind; loopback by default. */
      host: name.default('127.0.0.1'),
    })
    .prefault({}),
  log: z.strictObject({ format: z.enum(['text', 'json'], { error: 'expected "text" or "json"' }).default('text') }).prefault({}),
});

export type FieldlinkConfigInput = z.input<typeof fieldlinkConfigSchema>;
type ParsedConfig = z.output<typeof fieldlinkConfigSchema>;

/** The validated configuration, with every port resolved to its adapter. */
export interface FieldlinkConfig extends Omit<ParsedConfig, 'ports' | 'dataverse' | 'alerts'> {
  readonly ports: { readonly [P in PortName]: AdapterName<P> };
  /** `enrichment` resolved from the CRM when unset. */
  readonly alerts: { readonly enrichment: AlertEnrichment };
  /** `embedded` resolved: true when the emulator runs in process. */
  readonly dataverse: ParsedConfig['dataverse'] & { readonly embedded: boolean };
}

/** Who maps an alert's device to its records and parents it: the orchestrator, or the organisation's plug-ins (CFS). */
export type AlertEnrichment = 'orchestrator' | 'organisation';

/** Settings whose values are secrets: read from the environment only, redacted in every dump. */
export const SECRET_PATHS = [
  'serviceBus.connectionString',
  'eventHubs.connectionString',
  'iotHub.connectionString',
  'blob.connectionString',
  'dataverse.clientSecret',
  'dataverse.emulatorAccessToken',
  'storage.postgresConnectionString',
  'storage.azureSqlConnectionString',
] as const;
