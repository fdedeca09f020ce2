import { err, issue, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import { parseCommaJoinedObjects, splitCommaList } from '../codec/comma-joined.js';
import { mergePatchBetween, type JsonObject } from '../codec/json-merge-patch.js';
import type { TwinPatch } from '../device-registry-port.js';
import {
  booleanColumn,
  columnOf,
  expectMessage,
  isDateTime,
  isEntity,
  isReference,
  jsonObjectColumn,
  listParameter,
  readWith,
  referenceColumn,
  targetEntity,
  textColumn,
} from './outbound-crm-schemas.js';
import { ZERO_GUID, type DataverseEntity, type DataverseValue, type RemoteExecutionContext } from './remote-execution-context.js';

/*
 * The four outbound messages the orchestrator routes (flows 13–15), read from a decoded
 * RemoteExecutionContext. Readers never throw; every issue names the parameter or attribute at
 * fault. The parts are read with the zod schemas of outbound-crm-schemas.ts; contexts are built
 * (for the Dataverse emulator's and the flows' tests) by `@fieldlink/ports/testing`.
 */

export const OutboundMessageName = {
  Create: 'Create',
  Update: 'Update',
  RegisterDevices: 'msdyn_RegisterIoTDevice',
  PullDeviceData: 'msdyn_PullDataForIoTDevice',
} as const;

export type OutboundCrmMessage =
  | { readonly kind: 'command-created'; readonly command: CommandCreated }
  | { readonly kind: 'register-devices'; readonly devices: RegisterDeviceRequest[]; readonly ambiguous?: AmbiguousRegistration }
  | { readonly kind: 'device-updated'; readonly update: DeviceUpdated }
  | { readonly kind: 'pull-device-data'; readonly pull: PullDeviceData };

/** Create of `msdyn_iotdevicecommand`: what the command record says to send. */
export interface CommandCreated {
  readonly commandId: string;
  readonly name: string;
  /** `msdyn_message`: the payload as JSON text (decode it with `decodeCommandPayload`). */
  readonly message: string;
  readonly deviceId?: string;
  readonly deviceRecordId?: string;
  readonly customerAssetId?: string;
  readonly parentAlertId?: string;
  readonly sendToAllConnectedDevices: boolean;
  /** Epoch ms. */
  readonly createdOn?: number;
}

/** One device of an `msdyn_RegisterIoTDevice` request. */
export interface RegisterDeviceRequest {
  readonly deviceId: string;
  readonly deviceRecordId: string;
  readonly name?: string;
  readonly tags?: Readonly<Record<string, unknown>>;
  /** `msdyn_devicesettings`: become the twin's desired properties. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/**
 * An `msdyn_RegisterIoTDevice` whose device id or name list has more values than there are
 * record ids: a value held a comma, so the lists cannot be split by position alone. The record ids
 * (GUIDs) and the JSON tags and settings still split; which device id and name belong to which
 * record is left to whoever can read the records (see `alignCommaJoined`).
 */
export interface AmbiguousRegistration {
  readonly kind: 'ambiguous';
  readonly deviceRecordIds: readonly string[];
  /** `DeviceIds` as sent. */
  readonly deviceIdsText: string;
  /** `IoTDeviceNames` as sent, when given. */
  readonly namesText?: string;
  /** Which lists have a count other than the record ids', with their counts, for the reason written to the CRM. */
  readonly mismatched: ReadonlyArray<{ readonly parameter: 'DeviceIds' | 'IoTDeviceNames'; readonly values: number }>;
  readonly tags?: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>;
  readonly settings?: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>;
}

/** Update of `msdyn_iotdevice`: the twin patch its tags and settings call for. */
export interface DeviceUpdated {
  readonly deviceRecordId: string;
  readonly deviceId: string;
  /** Empty when neither `msdyn_tags` nor `msdyn_devicesettings` changed. */
  readonly patch: TwinPatch;
}

/** `msdyn_PullDataForIoTDevice`: whose twins to record, and when it was asked (the record's stamp). */
export interface PullDeviceData {
  readonly devices: ReadonlyArray<{ readonly deviceId: string; readonly deviceRecordId?: string }>;
  /** Epoch ms of the operation; undefined when the context does not say. */
  readonly requestedOn?: number;
}

const COMMAND_ENTITY = 'msdyn_iotdevicecommand';
const DEVICE_ENTITY = 'msdyn_iotdevice';

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Routes a context to its typed reader by message and entity name. As the CFS "CRM to IoT" Logic
 * App does, the message name is compared case-insensitively (`create`, `Create`, `msdyn_registeriotdevice`).
 */
export function readOutboundCrmMessage(ctx: RemoteExecutionContext): Result<OutboundCrmMessage, ValidationIssue[]> {
  const map = <T, K extends OutboundCrmMessage['kind']>(
    r: Result<T, ValidationIssue[]>,
    wrap: (v: T) => Extract<OutboundCrmMessage, { kind: K }>,
  ): Result<OutboundCrmMessage, ValidationIssue[]> => (r.ok ? ok(wrap(r.value)) : r);
  if (same(ctx.messageName, OutboundMessageName.Create) && same(ctx.primaryEntityName, COMMAND_ENTITY))
    return map(readCommandCreated(ctx), (command) => ({ kind: 'command-created', command }));
  if (same(ctx.messageName, OutboundMessageName.RegisterDevices)) {
    return map(readRegisterDevicesRequest(ctx), (r) =>
      r.kind === 'devices' ? { kind: 'register-devices', devices: r.devices } : { kind: 'register-devices', devices: [], ambiguous: r },
    );
  }
  if (same(ctx.messageName, OutboundMessageName.Update) && same(ctx.primaryEntityName, DEVICE_ENTITY))
    return map(readDeviceUpdated(ctx), (update) => ({ kind: 'device-updated', update }));
  if (same(ctx.messageName, OutboundMessageName.PullDeviceData)) return map(readPullDeviceData(ctx), (pull) => ({ kind: 'pull-device-data', pull }));
  return err([
    issue(
      ['MessageName'],
      `"${ctx.messageName}" of "${ctx.primaryEntityName}" is not an outbound message this orchestrator handles (Create of ${COMMAND_ENTITY}, Update of ${DEVICE_ENTITY}, ${OutboundMessageName.RegisterDevices}, ${OutboundMessageName.PullDeviceData})`,
    ),
  ]);
}

/** The kind of outbound message a context is, by its names alone (what to re-read when the endpoint stripped it). */
export function outboundMessageKind(ctx: Pick<RemoteExecutionContext, 'messageName' | 'primaryEntityName'>): OutboundCrmMessage['kind'] | undefined {
  if (same(ctx.messageName, OutboundMessageName.Create) && same(ctx.primaryEntityName, COMMAND_ENTITY)) return 'command-created';
  if (same(ctx.messageName, OutboundMessageName.RegisterDevices)) return 'register-devices';
  if (same(ctx.messageName, OutboundMessageName.Update) && same(ctx.primaryEntityName, DEVICE_ENTITY)) return 'device-updated';
  if (same(ctx.messageName, OutboundMessageName.PullDeviceData)) return 'pull-device-data';
  return undefined;
}

/**
 * The Logic App's `messageParameters` for a context whose input parameters hold a `Target`
 * entity or reference: `{id, logicalName, attributes, preImageAttributes}`, the attributes of the
 * first pre-image; undefined when there is no Target.
 */
export interface FlattenedTarget {
  readonly id: string;
  readonly logicalName: string;
  readonly attributes: Readonly<Record<string, DataverseValue>>;
  readonly preImageAttributes: Readonly<Record<string, DataverseValue>>;
}

export function flattenTarget(ctx: RemoteExecutionContext): FlattenedTarget | undefined {
  const t = ctx.inputParameters['Target'];
  const pre = Object.values(ctx.preEntityImages)[0]?.attributes ?? {};
  if (isEntity(t)) return { id: nonZero(t.id) ?? ctx.primaryEntityId, logicalName: t.logicalName, attributes: t.attributes, preImageAttributes: pre };
  if (isReference(t)) return { id: t.id, logicalName: t.logicalName, attributes: {}, preImageAttributes: pre };
  return undefined;
}

const nonZero = (id: string | undefined): string | undefined => (id === undefined || id === '' || id === ZERO_GUID ? undefined : id);

/** Create of `msdyn_iotdevicecommand` → the command to send. */
export function readCommandCreated(ctx: RemoteExecutionContext): Result<CommandCreated, ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  expectMessage(ctx, OutboundMessageName.Create, COMMAND_ENTITY, issues);
  const t = targetEntity(ctx, COMMAND_ENTITY, issues);
  if (t === undefined) return err(issues);
  const path = ['InputParameters', 'Target'];
  const idAttribute = columnOf(t, 'msdyn_iotdevicecommandid', textColumn, path, issues);
  const commandId = nonZero(t.id) ?? nonZero(idAttribute) ?? nonZero(ctx.primaryEntityId);
  if (commandId === undefined) issues.push(issue([...path, 'Id'], 'expected the command id'));
  const name = columnOf(t, 'msdyn_name', textColumn, path, issues);
  const message = columnOf(t, 'msdyn_message', textColumn, path, issues);
  if (message === undefined || message.trim() === '') issues.push(issue([...path, 'Attributes', 'msdyn_message'], 'expected the command payload as JSON text'));
  const deviceId = columnOf(t, 'msdyn_deviceid', textColumn, path, issues);
  const deviceRecordId = columnOf(t, 'msdyn_device', referenceColumn, path, issues);
  const customerAssetId = columnOf(t, 'msdyn_customerasset', referenceColumn, path, issues);
  const parentAlertId = columnOf(t, 'msdyn_parentalert', referenceColumn, path, issues);
  const sendToAllConnectedDevices = columnOf(t, 'msdyn_sendtoallconnecteddevices', booleanColumn, path, issues) === true;
  if (!sendToAllConnectedDevices && (deviceId === undefined || deviceId === '') && deviceRecordId === undefined) {
    issues.push(issue([...path, 'Attributes', 'msdyn_deviceid'], 'expected the device id, or the msdyn_device reference, or msdyn_sendtoallconnecteddevices'));
  }
  const createdOn = t.attributes['createdon'];
  if (issues.length > 0) return err(issues);
  return ok({
    commandId: commandId!,
    name: name ?? '',
    message: message!,
    sendToAllConnectedDevices,
    ...(deviceId === undefined || deviceId === '' ? {} : { deviceId }),
    ...(deviceRecordId === undefined ? {} : { deviceRecordId }),
    ...(customerAssetId === undefined ? {} : { customerAssetId }),
    ...(parentAlertId === undefined ? {} : { parentAlertId }),
    ...(isDateTime(createdOn) ? { createdOn: createdOn.epochMs } : {}),
  });
}

/**
 * `msdyn_RegisterIoTDevice` → one request per device. The record ids (GUIDs, never holding a
 * comma) fix the count. Tags and settings are comma-joined JSON objects, split outside their
 * strings and brackets. A device id or name list of another length means a value held a comma:
 * that request is ambiguous and refused here (see `readRegisterDevicesRequest` for the rest).
 */
export function readRegisterDevices(ctx: RemoteExecutionContext): Result<RegisterDeviceRequest[], ValidationIssue[]> {
  const read = readRegisterDevicesRequest(ctx);
  if (!read.ok) return read;
  if (read.value.kind === 'devices') return ok(read.value.devices);
  const count = read.value.deviceRecordIds.length;
  return err(
    read.value.mismatched.map((m) =>
      issue(['InputParameters', m.parameter], `has ${m.values} values for ${count} devices in IoTDeviceIds; a value containing a comma cannot be told apart`),
    ),
  );
}

/**
 * `msdyn_RegisterIoTDevice` → the devices, or, when a device id or name held a comma, the
 * ambiguous request with everything that still splits; other faults are issues.
 */
export function readRegisterDevicesRequest(
  ctx: RemoteExecutionContext,
): Result<{ readonly kind: 'devices'; readonly devices: RegisterDeviceRequest[] } | AmbiguousRegistration, ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  expectMessage(ctx, OutboundMessageName.RegisterDevices, undefined, issues);
  const deviceIdsText = listParameterOf(ctx, 'DeviceIds', true, issues);
  const recordIdsText = listParameterOf(ctx, 'IoTDeviceIds', true, issues);
  const namesText = listParameterOf(ctx, 'IoTDeviceNames', false, issues);
  const tagsText = listParameterOf(ctx, 'IoTDeviceTags', false, issues);
  const settingsText = listParameterOf(ctx, 'IoTDeviceSettings', false, issues);
  if (deviceIdsText === undefined || recordIdsText === undefined) return err(issues);
  const recordIds = splitCommaList(recordIdsText);
  const count = recordIds.length;
  if (count === 0) issues.push(issue(['InputParameters', 'IoTDeviceIds'], 'expected at least one device record id'));
  const deviceIds = deviceIdsText.split(',').map((s) => s.trim());
  const names = namesText === undefined || namesText === '' ? undefined : namesText.split(',').map((s) => s.trim());
  const mismatched: Array<{ parameter: 'DeviceIds' | 'IoTDeviceNames'; values: number }> = [];
  if (deviceIds.length !== count) mismatched.push({ parameter: 'DeviceIds', values: deviceIds.length });
  if (names !== undefined && names.length !== count) mismatched.push({ parameter: 'IoTDeviceNames', values: names.length });
  const objects = (key: string, text: string | undefined): Array<Record<string, unknown> | undefined> | undefined => {
    if (text === undefined || text.trim() === '') return undefined;
    const parsed = parseCommaJoinedObjects(text, ['InputParameters', key]);
    if (!parsed.ok) {
      issues.push(...parsed.error);
      return undefined;
    }
    if (parsed.value.length !== count) issues.push(issue(['InputParameters', key], `has ${parsed.value.length} values for ${count} devices in IoTDeviceIds`));
    return parsed.value;
  };
  const tags = objects('IoTDeviceTags', tagsText);
  const settings = objects('IoTDeviceSettings', settingsText);
  if (issues.length > 0) return err(issues);
  if (mismatched.length > 0) {
    return ok({
      kind: 'ambiguous',
      deviceRecordIds: recordIds,
      deviceIdsText,
      ...(namesText === undefined || namesText === '' ? {} : { namesText }),
      mismatched,
      ...(tags === undefined ? {} : { tags }),
      ...(settings === undefined ? {} : { settings }),
    });
  }
  return ok({
    kind: 'devices',
    devices: recordIds.map((deviceRecordId, i) => {
      const name = names?.[i];
      const t = tags?.[i];
      const s = settings?.[i];
      return {
        deviceId: deviceIds[i]!,
        deviceRecordId,
        ...(name === undefined || name === '' ? {} : { name }),
        ...(t === undefined ? {} : { tags: t }),
        ...(s === undefined ? {} : { settings: s }),
      };
    }),
  });
}

/** A JSON object column, or undefined when the entity does not carry the column (it did not change). */
const jsonObjectOf = (
  entity: DataverseEntity | undefined,
  name: string,
  path: ReadonlyArray<string | number>,
  issues: ValidationIssue[],
): JsonObject | undefined => (entity === undefined || !(name in entity.attributes) ? undefined : columnOf(entity, name, jsonObjectColumn, path, issues));

const listParameterOf = (ctx: RemoteExecutionContext, key: string, required: boolean, issues: ValidationIssue[]): string | undefined =>
  readWith(listParameter(required), ctx.inputParameters[key], ['InputParameters', key], issues);

const firstImage = (images: Readonly<Record<string, DataverseEntity>>): { name: string; entity: DataverseEntity } | undefined => {
  const [name, entity] = Object.entries(images)[0] ?? [];
  return name === undefined || entity === undefined ? undefined : { name, entity };
};

/**
 * Update of `msdyn_iotdevice` → a twin patch. The Target holds only the changed columns, so the
 * device id comes from the Target or else an entity image. With a pre-image, keys removed from
 * `msdyn_tags` / `msdyn_devicesettings` become null in the patch, so the twin loses them too.
 */
export function readDeviceUpdated(ctx: RemoteExecutionContext): Result<DeviceUpdated, ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  expectMessage(ctx, OutboundMessageName.Update, DEVICE_ENTITY, issues);
  const t = targetEntity(ctx, DEVICE_ENTITY, issues);
  if (t === undefined) return err(issues);
  const path = ['InputParameters', 'Target'];
  const pre = firstImage(ctx.preEntityImages);
  const post = firstImage(ctx.postEntityImages);
  const deviceRecordId = nonZero(t.id) ?? nonZero(ctx.primaryEntityId);
  if (deviceRecordId === undefined) issues.push(issue([...path, 'Id'], 'expected the device record id'));
  const deviceId =
    columnOf(t, 'msdyn_deviceid', textColumn, path, issues) ??
    (post === undefined ? undefined : columnOf(post.entity, 'msdyn_deviceid', textColumn, ['PostEntityImages', post.name], issues)) ??
    (pre === undefined ? undefined : columnOf(pre.entity, 'msdyn_deviceid', textColumn, ['PreEntityImages', pre.name], issues));
  if (deviceId === undefined || deviceId === '')
    issues.push(issue([...path, 'Attributes', 'msdyn_deviceid'], 'expected the device id in the Target or an entity image'));
  const section = (attribute: string): JsonObject | undefined => {
    const after = jsonObjectOf(t, attribute, path, issues);
    if (after === undefined) return undefined;
    const before = pre === undefined ? undefined : jsonObjectOf(pre.entity, attribute, ['PreEntityImages', pre.name], issues);
    return before === undefined ? after : mergePatchBetween(before, after);
  };
  const tags = section('msdyn_tags');
  const desiredProperties = section('msdyn_devicesettings');
  if (issues.length > 0) return err(issues);
  return ok({
    deviceRecordId: deviceRecordId!,
    deviceId: deviceId!,
    patch: { ...(tags === undefined ? {} : { tags }), ...(desiredProperties === undefined ? {} : { desiredProperties }) },
  });
}

/** `msdyn_PullDataForIoTDevice` → the devices whose twins to record. */
export function readPullDeviceData(ctx: RemoteExecutionContext): Result<PullDeviceData, ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  expectMessage(ctx, OutboundMessageName.PullDeviceData, undefined, issues);
  const deviceIdsText = listParameterOf(ctx, 'DeviceIds', true, issues);
  const recordIdsText = listParameterOf(ctx, 'IoTDeviceIds', false, issues);
  if (deviceIdsText === undefined) return err(issues);
  const deviceIds = splitCommaList(deviceIdsText);
  if (deviceIds.length === 0) issues.push(issue(['InputParameters', 'DeviceIds'], 'expected at least one device id'));
  const recordIds = recordIdsText === undefined || recordIdsText.trim() === '' ? undefined : splitCommaList(recordIdsText);
  if (recordIds !== undefined && recordIds.length !== deviceIds.length) {
    issues.push(
      issue(
        ['InputParameters', 'DeviceIds'],
        `has ${deviceIds.length} values for ${recordIds.length} devices in IoTDeviceIds; a value containing a comma cannot be told apart`,
      ),
    );
  }
  if (issues.length > 0) return err(issues);
  return ok({
    devices: deviceIds.map((deviceId, i) => ({ deviceId, ...(recordIds === undefined ? {} : { deviceRecordId: recordIds[i]! }) })),
    ...(ctx.operationCreatedOn === undefined ? {} : { requestedOn: ctx.operationCreatedOn }),
  });
}
