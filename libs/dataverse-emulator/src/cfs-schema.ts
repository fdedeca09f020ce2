/**
 * The tables the emulator serves: the Connected Field Service entities the flows touch, with the
 * column types and lengths Dataverse enforces (so a description over 100 characters is refused
 * here as it is in an organisation), and the alternate keys the emulator declares.
 */
export type ColumnType =
  | { readonly kind: 'string'; readonly maxLength: number }
  | { readonly kind: 'int' }
  /** An option set (choice): an integer on the wire, an OptionSetValue in a RemoteExecutionContext. */
  | { readonly kind: 'option' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'datetime' }
  /** A lookup; `targets` are entity set names (more than one for a polymorphic lookup). */
  | { readonly kind: 'lookup'; readonly targets: readonly string[] };

export interface TableSchema {
  readonly entitySet: string;
  readonly logicalName: string;
  readonly primaryKey: string;
  readonly primaryName?: string;
  readonly columns: Readonly<Record<string, ColumnType>>;
  readonly alternateKeys: readonly (readonly string[])[];
}

const text = (maxLength: number): ColumnType => ({ kind: 'string', maxLength });
const lookup = (...targets: string[]): ColumnType => ({ kind: 'lookup', targets });
const option: ColumnType = { kind: 'option' };
const int: ColumnType = { kind: 'int' };
const bool: ColumnType = { kind: 'bool' };
const datetime: ColumnType = { kind: 'datetime' };

const stateAndStatus = { statecode: option, statuscode: option };

export const CFS_TABLES: readonly TableSchema[] = [
  {
    entitySet: 'msdyn_customerassets',
    logicalName: 'msdyn_customerasset',
    primaryKey: 'msdyn_customerassetid',
    primaryName: 'msdyn_name',
    columns: { msdyn_name: text(100), msdyn_deviceid: text(128), ...stateAndStatus },
    alternateKeys: [],
  },
  {
    entitySet: 'msdyn_iotdevices',
    logicalName: 'msdyn_iotdevice',
    primaryKey: 'msdyn_iotdeviceid',
    primaryName: 'msdyn_name',
    columns: {
      msdyn_name: text(100),
      msdyn_deviceid: text(128),
      fl_devicetype: text(100),
      msdyn_customerasset: lookup('msdyn_customerassets'),
      msdyn_tags: text(1_048_576),
      msdyn_devicesettings: text(1_048_576),
      msdyn_registrationstatus: option,
      msdyn_registrationmessage: text(2_000),
      msdyn_connected: bool,
      ...stateAndStatus,
    },
    alternateKeys: [['msdyn_deviceid']],
  },
  {
    entitySet: 'msdyn_iotalerts',
    logicalName: 'msdyn_iotalert',
    primaryKey: 'msdyn_iotalertid',
    primaryName: 'msdyn_description',
    columns: {
      msdyn_alerttoken: text(100),
      msdyn_deviceid: text(128),
      msdyn_description: text(100),
      msdyn_alertdata: text(8_192),
      msdyn_alerttime: datetime,
      msdyn_alerttype: option,
      msdyn_device: lookup('msdyn_iotdevices'),
      msdyn_customerasset: lookup('msdyn_customerassets'),
      msdyn_parentalert: lookup('msdyn_iotalerts'),
      msdyn_case: lookup('incidents'),
      msdyn_lastcommandsent: lookup('msdyn_iotdevicecommands'),
      ...stateAndStatus,
    },
    alternateKeys: [['msdyn_alerttoken']],
  },
  {
    entitySet: 'msdyn_iotdevicecommands',
    logicalName: 'msdyn_iotdevicecommand',
    primaryKey: 'msdyn_iotdevicecommandid',
    primaryName: 'msdyn_name',
    columns: {
      msdyn_name: text(100),
      msdyn_message: text(8_192),
      msdyn_deviceid: text(128),
      msdyn_device: lookup('msdyn_iotdevices'),
      msdyn_customerasset: lookup('msdyn_customerassets'),
      msdyn_parentalert: lookup('msdyn_iotalerts'),
      msdyn_sendtoallconnecteddevices: bool,
      msdyn_commandstatus: option,
      msdyn_commandstatusreason: text(2_000),
      fl_commandstate: text(20),
      ...stateAndStatus,
    },
    alternateKeys: [],
  },
  {
    entitySet: 'incidents',
    logicalName: 'incident',
    primaryKey: 'incidentid',
    primaryName: 'title',
    columns: { title: text(200), description: text(2_000), msdyn_iotalert: lookup('msdyn_iotalerts'), msdyn_customerasset: lookup('msdyn_customerassets'), ...stateAndStatus },
    alternateKeys: [],
  },
  {
    entitySet: 'msdyn_workorders',
    logicalName: 'msdyn_workorder',
    primaryKey: 'msdyn_workorderid',
    primaryName: 'msdyn_name',
    columns: {
      msdyn_name: text(100),
      msdyn_workordersummary: text(8_000),
      msdyn_iotalert: lookup('msdyn_iotalerts'),
      msdyn_servicerequest: lookup('incidents'),
      msdyn_customerasset: lookup('msdyn_customerassets'),
      ...stateAndStatus,
    },
    alternateKeys: [],
  },
  {
    entitySet: 'msdyn_iotdevicedatahistories',
    logicalName: 'msdyn_iotdevicedatahistory',
    primaryKey: 'msdyn_iotdevicedatahistoryid',
    columns: {
      msdyn_deviceid: text(128),
      msdyn_device: lookup('msdyn_iotdevices'),
      msdyn_connectionstate: text(20),
      msdyn_lastactivitytime: datetime,
      msdyn_reportedproperties: text(1_048_576),
      msdyn_recordedon: datetime,
    },
    alternateKeys: [],
  },
  {
    // The organisation's IoT settings (stock: entity set msdyn_iotsettingses); the command property names.
    entitySet: 'msdyn_iotsettingses',
    logicalName: 'msdyn_iotsettings',
    primaryKey: 'msdyn_iotsettingsid',
    primaryName: 'msdyn_name',
    columns: { msdyn_name: text(100), msdyn_commandnameproperty: text(100), msdyn_commandparametersproperty: text(100), ...stateAndStatus },
    alternateKeys: [],
  },
  {
    entitySet: 'annotations',
    logicalName: 'annotation',
    primaryKey: 'annotationid',
    primaryName: 'subject',
    columns: { subject: text(500), notetext: text(100_000), objecttypecode: text(100), objectid: lookup('msdyn_iotalerts', 'msdyn_iotdevices', 'incidents', 'msdyn_workorders') },
    alternateKeys: [],
  },
];

/** Columns every table has, kept by the emulator itself. */
export const SYSTEM_COLUMNS: Readonly<Record<string, ColumnType>> = { createdon: datetime, modifiedon: datetime, versionnumber: int };
