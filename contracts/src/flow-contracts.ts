/**
 * The rows of the CFS data-flow diagram (the project's flows spec) and the contracts that pin
 * each one: which pact (consumer ← provider) and which of its interactions, by description. The
 * coverage matrix reads this table; a row is green only when every interaction it names is in a
 * pact file and passed its provider's verification of that very file.
 */
export interface PactRef {
  readonly consumer: string;
  readonly provider: string;
  /** Interaction descriptions the row needs in that pact. */
  readonly interactions: readonly string[];
}

export interface FlowContract {
  readonly flow: string;
  readonly what: string;
  readonly pacts: readonly PactRef[];
  /** Set only for a row with nothing on a wire: why it has no pact. */
  readonly noWire?: string;
}

/** Pacticipant names, one per deployable side. */
export const PACTICIPANT = {
  thermostatSimulator: 'fieldlink-thermostat-simulator',
  iotHub: 'azure-iot-hub',
  iotHubRegistry: 'azure-iot-hub-registry',
  rulesStore: 'azure-blob-reference-data',
  streamProcessor: 'fieldlink-stream-processor',
  orchestrator: 'fieldlink-orchestrator',
  crmServiceEndpoint: 'dataverse-service-endpoint',
  dynamicsAdapter: 'fieldlink-dynamics-adapter',
  dataverse: 'dataverse-web-api',
  azureRegistryAdapter: 'fieldlink-azure-registry-adapter',
  console: 'fieldlink-console',
} as const;

const P = PACTICIPANT;

export const FLOW_CONTRACTS: readonly FlowContract[] = [
  {
    flow: '1–2',
    what: 'device telemetry + heartbeat',
    pacts: [{ consumer: P.streamProcessor, provider: P.thermostatSimulator, interactions: ['a thermostat reading', 'a thermostat heartbeat'] }],
  },
  {
    flow: '3',
    what: 'the telemetry stream from the hub',
    pacts: [{ consumer: P.streamProcessor, provider: P.iotHub, interactions: ['a device-to-cloud event with the hub system properties'] }],
  },
  {
    flow: '4a',
    what: 'reference data (devicerules.json)',
    pacts: [{ consumer: P.streamProcessor, provider: P.rulesStore, interactions: ['the device rules in force'] }],
  },
  {
    flow: '4b',
    what: 'anomaly score',
    pacts: [],
    noWire: 'no ML service: the built-in spike/dip detection runs inside the stream processor',
  },
  {
    flow: '5',
    what: 'per-minute aggregates, device health, alert history',
    pacts: [{ consumer: P.console, provider: P.streamProcessor, interactions: ['the per-device per-minute aggregates', 'the health of a device'] }],
  },
  {
    flow: '6',
    what: 'alerts-queue messages',
    pacts: [{ consumer: P.orchestrator, provider: P.streamProcessor, interactions: ['a CFS alerts-queue message'] }],
  },
  {
    flow: '7–9',
    what: 'alert into CRM: device → asset, create msdyn_iotalert',
    pacts: [{ consumer: P.dynamicsAdapter, provider: P.dataverse, interactions: ['find the IoT device by its device id', 'create an IoT alert'] }],
  },
  {
    flow: '10',
    what: 'the msdyn_iotalert record, parented/debounced',
    pacts: [{ consumer: P.dynamicsAdapter, provider: P.dataverse, interactions: ['find the active alert of a device'] }],
  },
  {
    flow: '11',
    what: 'rules framework actions (case, work order, notification, command)',
    pacts: [{ consumer: P.dynamicsAdapter, provider: P.dataverse, interactions: ['create a case for an alert', 'create a work order for an alert'] }],
  },
  {
    flow: '12',
    what: 'msdyn_iotdevicecommand created',
    pacts: [{ consumer: P.dynamicsAdapter, provider: P.dataverse, interactions: ['create an IoT device command'] }],
  },
  {
    flow: '13',
    what: 'RemoteExecutionContext on the outbound queue',
    pacts: [
      {
        consumer: P.orchestrator,
        provider: P.crmServiceEndpoint,
        interactions: [
          'a Create of msdyn_iotdevicecommand',
          'an msdyn_RegisterIoTDevice action',
          'an Update of msdyn_iotdevice',
          'an msdyn_PullDataForIoTDevice action',
        ],
      },
    ],
  },
  {
    flow: '14–15',
    what: 'outbound routing to the hub side or back to CRM',
    pacts: [
      {
        consumer: P.orchestrator,
        provider: P.crmServiceEndpoint,
        interactions: [
          'a Create of msdyn_iotdevicecommand',
          'an msdyn_RegisterIoTDevice action',
          'an Update of msdyn_iotdevice',
          'an msdyn_PullDataForIoTDevice action',
        ],
      },
    ],
  },
  {
    flow: '16–19',
    what: 'cloud-to-device commands, their feedback and status',
    pacts: [
      {
        consumer: P.thermostatSimulator,
        provider: P.orchestrator,
        interactions: ['a Reset Thermostat command', 'a Notification command', 'a Set Values command'],
      },
      { consumer: P.orchestrator, provider: P.iotHub, interactions: ['delivery feedback for a command', 'rejection feedback for a command'] },
      {
        consumer: P.orchestrator,
        provider: P.thermostatSimulator,
        interactions: ['an acknowledgement of an applied command', 'an acknowledgement of a refused command'],
      },
      {
        consumer: P.dynamicsAdapter,
        provider: P.dataverse,
        interactions: [
          'write the status of a command',
          'read the state of a command with its ETag',
          'write the status of a command if its row is as read',
          'read again the state of a command another writer changed',
          'write the status of a command over a row changed since its read',
        ],
      },
    ],
  },
  {
    flow: '16′–18′',
    what: 'register devices in the hub registry',
    pacts: [
      {
        consumer: P.azureRegistryAdapter,
        provider: P.iotHubRegistry,
        interactions: ['create enabled devices in bulk', 'update the tags and desired properties of a twin'],
      },
    ],
  },
  {
    flow: '18″',
    what: 'registration results onto the CRM device',
    pacts: [
      {
        consumer: P.dynamicsAdapter,
        provider: P.dataverse,
        interactions: [
          'write the registration result of a device',
          'write a failed registration of a device',
          'write the registration result of a device that is not in CRM',
        ],
      },
    ],
  },
  {
    flow: 'later: update',
    what: 'msdyn_devicesettings/msdyn_tags → twin',
    pacts: [{ consumer: P.azureRegistryAdapter, provider: P.iotHubRegistry, interactions: ['update the desired properties of a twin'] }],
  },
  {
    flow: 'later: pull',
    what: 'twins → msdyn_iotdevicedatahistory',
    pacts: [
      { consumer: P.azureRegistryAdapter, provider: P.iotHubRegistry, interactions: ['read the twin of a device'] },
      { consumer: P.dynamicsAdapter, provider: P.dataverse, interactions: ['create a device data history record'] },
    ],
  },
];

/** The file name Pact gives the pact of a consumer and provider. */
export const pactFileName = (consumer: string, provider: string): string => `${consumer}-${provider}.json`;
