import { CfsCommandStatus } from '@fieldlink/domain';
import { OutboundMessageName, type CommandCreated, type PullDeviceData, type RegisterDeviceRequest } from '../messages/outbound-crm-message.js';
import {
  ZERO_GUID,
  type DataverseEntity,
  type DataverseEntityReference,
  type DataverseValue,
  type RemoteExecutionContext,
} from '../messages/remote-execution-context.js';

/*
 * RemoteExecutionContexts of the four outbound messages (flows 13–15), built as the CRM side
 * sends them: what the Dataverse emulator's tests and the flows' tests post to the orchestrator.
 * The readers are in outbound-crm-message.ts.
 */

const COMMAND_ENTITY = 'msdyn_iotdevicecommand';
const DEVICE_ENTITY = 'msdyn_iotdevice';

/** The envelope of a built context; what is not given gets the values a service endpoint writes by default. */
export interface ContextEnvelope {
  readonly correlationId?: string;
  readonly operationId?: string;
  readonly requestId?: string;
  readonly businessUnitId?: string;
  readonly organizationId?: string;
  readonly organizationName?: string;
  readonly userId?: string;
  /** Epoch ms. */
  readonly operationCreatedOn?: number;
}

function envelope(
  e: ContextEnvelope,
): Omit<
  RemoteExecutionContext,
  'messageName' | 'primaryEntityName' | 'primaryEntityId' | 'inputParameters' | 'outputParameters' | 'preEntityImages' | 'postEntityImages'
> {
  return {
    businessUnitId: e.businessUnitId ?? ZERO_GUID,
    correlationId: e.correlationId ?? ZERO_GUID,
    depth: 1,
    initiatingUserId: e.userId ?? ZERO_GUID,
    isExecutingOffline: false,
    isInTransaction: false,
    isOfflinePlayback: false,
    isolationMode: 1,
    mode: 1,
    ...(e.operationCreatedOn === undefined ? {} : { operationCreatedOn: e.operationCreatedOn }),
    operationId: e.operationId ?? ZERO_GUID,
    organizationId: e.organizationId ?? ZERO_GUID,
    organizationName: e.organizationName ?? '',
    requestId: e.requestId ?? ZERO_GUID,
    secondaryEntityName: 'none',
    sharedVariables: {},
    stage: 40,
    userId: e.userId ?? ZERO_GUID,
  };
}

const reference = (logicalName: string, id: string): DataverseEntityReference => ({ kind: 'EntityReference', logicalName, id, name: null });

/** The context of the Create of a command record, as the CFS service endpoint step sends it. */
export function buildCommandCreatedContext(command: CommandCreated, e: ContextEnvelope = {}): RemoteExecutionContext {
  const attributes: Record<string, DataverseValue> = {
    msdyn_name: command.name,
    msdyn_message: command.message,
    ...(command.deviceId === undefined ? {} : { msdyn_deviceid: command.deviceId }),
    msdyn_iotdevicecommandid: command.commandId,
    ...(command.deviceRecordId === undefined ? {} : { msdyn_device: reference(DEVICE_ENTITY, command.deviceRecordId) }),
    ...(command.customerAssetId === undefined ? {} : { msdyn_customerasset: reference('msdyn_customerasset', command.customerAssetId) }),
    ...(command.parentAlertId === undefined ? {} : { msdyn_parentalert: reference('msdyn_iotalert', command.parentAlertId) }),
    ...(command.sendToAllConnectedDevices ? { msdyn_sendtoallconnecteddevices: true } : {}),
    msdyn_commandstatus: { kind: 'OptionSetValue', value: CfsCommandStatus.InProgress },
    ...(command.createdOn === undefined ? {} : { createdon: { kind: 'DateTime', epochMs: command.createdOn } }),
  };
  return {
    ...envelope(e),
    messageName: OutboundMessageName.Create,
    primaryEntityName: COMMAND_ENTITY,
    primaryEntityId: command.commandId,
    inputParameters: { Target: { kind: 'Entity', logicalName: COMMAND_ENTITY, id: command.commandId, attributes } },
    outputParameters: { id: command.commandId },
    preEntityImages: {},
    postEntityImages: {},
    owningExtension: { kind: 'EntityReference', logicalName: 'sdkmessageprocessingstep', id: ZERO_GUID, name: `IoT Message: Create of ${COMMAND_ENTITY}` },
  };
}

/** The context of the `msdyn_RegisterIoTDevice` action. Values are joined with commas, as CFS does. */
export function buildRegisterDevicesContext(devices: readonly RegisterDeviceRequest[], e: ContextEnvelope = {}): RemoteExecutionContext {
  const joinObjects = (values: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>): string => values.map((v) => JSON.stringify(v ?? {})).join(',');
  return {
    ...envelope(e),
    messageName: OutboundMessageName.RegisterDevices,
    primaryEntityName: 'none',
    primaryEntityId: ZERO_GUID,
    inputParameters: {
      DeviceIds: devices.map((d) => d.deviceId).join(','),
      IoTDeviceIds: devices.map((d) => d.deviceRecordId).join(','),
      IoTDeviceNames: devices.map((d) => d.name ?? '').join(','),
      IoTDeviceTags: joinObjects(devices.map((d) => d.tags)),
      IoTDeviceSettings: joinObjects(devices.map((d) => d.settings)),
    },
    outputParameters: {},
    preEntityImages: {},
    postEntityImages: {},
  };
}

export interface DeviceUpdate {
  readonly deviceRecordId: string;
  readonly deviceId: string;
  readonly name?: string;
  /** The new `msdyn_tags` / `msdyn_devicesettings`; a column left out did not change. */
  readonly tags?: Readonly<Record<string, unknown>>;
  readonly settings?: Readonly<Record<string, unknown>>;
  /** The columns before the update, sent as the pre-image. */
  readonly previous?: { readonly tags?: Readonly<Record<string, unknown>>; readonly settings?: Readonly<Record<string, unknown>> };
}

/** The context of an Update of a device record, with a pre-image when `previous` is given. */
export function buildDeviceUpdatedContext(update: DeviceUpdate, e: ContextEnvelope = {}): RemoteExecutionContext {
  const columns = (tags: DeviceUpdate['tags'], settings: DeviceUpdate['settings']): Record<string, DataverseValue> => ({
    ...(tags === undefined ? {} : { msdyn_tags: JSON.stringify(tags) }),
    ...(settings === undefined ? {} : { msdyn_devicesettings: JSON.stringify(settings) }),
  });
  const entity = (attributes: Record<string, DataverseValue>): DataverseEntity => ({
    kind: 'Entity',
    logicalName: DEVICE_ENTITY,
    id: update.deviceRecordId,
    attributes,
  });
  return {
    ...envelope(e),
    messageName: OutboundMessageName.Update,
    primaryEntityName: DEVICE_ENTITY,
    primaryEntityId: update.deviceRecordId,
    inputParameters: { Target: entity({ ...(update.name === undefined ? {} : { msdyn_name: update.name }), ...columns(update.tags, update.settings) }) },
    outputParameters: {},
    preEntityImages:
      update.previous === undefined
        ? {}
        : { PreImage: entity({ msdyn_deviceid: update.deviceId, ...columns(update.previous.tags, update.previous.settings) }) },
    postEntityImages: {
      PostImage: entity({ msdyn_deviceid: update.deviceId, ...columns(update.tags ?? update.previous?.tags, update.settings ?? update.previous?.settings) }),
    },
  };
}

/** The context of the `msdyn_PullDataForIoTDevice` action. */
export function buildPullDeviceDataContext(devices: PullDeviceData['devices'], e: ContextEnvelope = {}): RemoteExecutionContext {
  const withRecords = devices.every((d) => d.deviceRecordId !== undefined);
  return {
    ...envelope(e),
    messageName: OutboundMessageName.PullDeviceData,
    primaryEntityName: 'none',
    primaryEntityId: ZERO_GUID,
    inputParameters: {
      DeviceIds: devices.map((d) => d.deviceId).join(','),
      ...(withRecords && devices.length > 0 ? { IoTDeviceIds: devices.map((d) => d.deviceRecordId).join(',') } : {}),
    },
    outputParameters: {},
    preEntityImages: {},
    postEntityImages: {},
  };
}
