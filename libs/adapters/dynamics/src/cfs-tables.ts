/**
 * The Dataverse tables (entity sets) and columns the adapter reads and writes. Columns prefixed
 * `msdyn_` come with the Connected Field Service solution; the two prefixed `fl_` are what this
 * project tracks beyond CFS (the device type as text, the whole way of a command) and are added
 * by a small solution of our own (see the README).
 */
export const Tables = {
  customerAssets: { set: 'msdyn_customerassets', entity: 'msdyn_customerasset', id: 'msdyn_customerassetid' },
  devices: { set: 'msdyn_iotdevices', entity: 'msdyn_iotdevice', id: 'msdyn_iotdeviceid' },
  alerts: { set: 'msdyn_iotalerts', entity: 'msdyn_iotalert', id: 'msdyn_iotalertid' },
  commands: { set: 'msdyn_iotdevicecommands', entity: 'msdyn_iotdevicecommand', id: 'msdyn_iotdevicecommandid' },
  cases: { set: 'incidents', entity: 'incident', id: 'incidentid' },
  workOrders: { set: 'msdyn_workorders', entity: 'msdyn_workorder', id: 'msdyn_workorderid' },
  deviceData: { set: 'msdyn_iotdevicedatahistories', entity: 'msdyn_iotdevicedatahistory', id: 'msdyn_iotdevicedatahistoryid' },
  notes: { set: 'annotations', entity: 'annotation', id: 'annotationid' },
} as const;

export type TableName = keyof typeof Tables;

export const AlertColumns = [
  'msdyn_iotalertid',
  'msdyn_alerttoken',
  'msdyn_deviceid',
  'msdyn_description',
  'msdyn_alertdata',
  'msdyn_alerttime',
  'msdyn_alerttype',
  'statecode',
  'statuscode',
  '_msdyn_device_value',
  '_msdyn_customerasset_value',
  '_msdyn_parentalert_value',
  '_msdyn_case_value',
  '_msdyn_lastcommandsent_value',
];

export const DeviceColumns = [
  'msdyn_iotdeviceid',
  'msdyn_deviceid',
  'msdyn_name',
  'fl_devicetype',
  '_msdyn_customerasset_value',
  'msdyn_tags',
  'msdyn_devicesettings',
  'msdyn_registrationstatus',
  'msdyn_registrationmessage',
];

export const CommandColumns = [
  'msdyn_iotdevicecommandid',
  'msdyn_name',
  'msdyn_message',
  'msdyn_deviceid',
  '_msdyn_device_value',
  '_msdyn_customerasset_value',
  '_msdyn_parentalert_value',
  'msdyn_sendtoallconnecteddevices',
  'msdyn_commandstatus',
  'msdyn_commandstatusreason',
  'fl_commandstate',
  'createdon',
  'modifiedon',
];

export const CaseColumns = ['incidentid', 'title', 'description', '_msdyn_iotalert_value', '_msdyn_customerasset_value'];
export const WorkOrderColumns = ['msdyn_workorderid', 'msdyn_workordersummary', '_msdyn_iotalert_value', '_msdyn_servicerequest_value', '_msdyn_customerasset_value'];
export const DeviceDataColumns = [
  'msdyn_iotdevicedatahistoryid',
  'msdyn_deviceid',
  '_msdyn_device_value',
  'msdyn_connectionstate',
  'msdyn_lastactivitytime',
  'msdyn_reportedproperties',
  'msdyn_recordedon',
];

/** The note that keeps alert data too long for `msdyn_alertdata`, whole. */
export const ALERT_DATA_NOTE_SUBJECT = 'Fieldlink: full alert data';
