/**
 * The Dataverse tables (entity sets), columns and navigation properties the adapter reads and
 * writes: all of them stock, as a Dynamics 365 organisation with Connected Field Service has them
 * (Microsoft's table references, transcribed in the Dataverse emulator's
 * `schema/dataverse-stock-schema.json`). The extension solution's columns, used only when the
 * organisation has it, are in `ExtensionColumns`.
 */
export const Tables = {
  customerAssets: { set: 'msdyn_customerassets', entity: 'msdyn_customerasset', id: 'msdyn_customerassetid' },
  devices: { set: 'msdyn_iotdevices', entity: 'msdyn_iotdevice', id: 'msdyn_iotdeviceid' },
  deviceCategories: { set: 'msdyn_iotdevicecategories', entity: 'msdyn_iotdevicecategory', id: 'msdyn_iotdevicecategoryid' },
  commandDefinitions: { set: 'msdyn_iotdevicecommanddefinitions', entity: 'msdyn_iotdevicecommanddefinition', id: 'msdyn_iotdevicecommanddefinitionid' },
  propertyDefinitions: { set: 'msdyn_iotpropertydefinitions', entity: 'msdyn_iotpropertydefinition', id: 'msdyn_iotpropertydefinitionid' },
  visualizations: {
    set: 'msdyn_iotdevicevisualizationconfigurations',
    entity: 'msdyn_iotdevicevisualizationconfiguration',
    id: 'msdyn_iotdevicevisualizationconfigurationid',
  },
  alerts: { set: 'msdyn_iotalerts', entity: 'msdyn_iotalert', id: 'msdyn_iotalertid' },
  commands: { set: 'msdyn_iotdevicecommands', entity: 'msdyn_iotdevicecommand', id: 'msdyn_iotdevicecommandid' },
  cases: { set: 'incidents', entity: 'incident', id: 'incidentid' },
  workOrders: { set: 'msdyn_workorders', entity: 'msdyn_workorder', id: 'msdyn_workorderid' },
  // The stock entity set name is singular (EntitySetName in both the 2019 and the 2024 reference).
  deviceData: { set: 'msdyn_iotdevicedatahistory', entity: 'msdyn_iotdevicedatahistory', id: 'msdyn_iotdevicedatahistoryid' },
  notes: { set: 'annotations', entity: 'annotation', id: 'annotationid' },
} as const;

export type TableName = keyof typeof Tables;

/**
 * The single-valued navigation property each lookup is bound by (`<navigation>@odata.bind`):
 * ReferencingEntityNavigationPropertyName in Microsoft's references. They are case-sensitive and
 * not all of one pattern (`msdyn_Device` on the alert, `msdyn_customerasset` on the work order).
 */
export const Navigation = {
  alerts: {
    msdyn_device: 'msdyn_Device',
    msdyn_customerasset: 'msdyn_CustomerAsset',
    msdyn_parentalert: 'msdyn_ParentAlert',
    msdyn_case: 'msdyn_Case',
    msdyn_lastcommandsent: 'msdyn_LastCommandSent',
  },
  commands: { msdyn_device: 'msdyn_Device', msdyn_customerasset: 'msdyn_CustomerAsset', msdyn_parentalert: 'msdyn_ParentAlert' },
  devices: { msdyn_category: 'msdyn_Category' },
  cases: { msdyn_iotalert: 'msdyn_IoTAlert' },
  workOrders: { msdyn_iotalert: 'msdyn_IoTAlert', msdyn_servicerequest: 'msdyn_servicerequest', msdyn_customerasset: 'msdyn_customerasset' },
  deviceData: { msdyn_device: 'msdyn_Device' },
} as const;

/** The many-to-many relationship between a case and its customer assets (no lookup on incident). */
export const CASE_ASSETS_RELATIONSHIP = 'msdyn_incident_msdyn_customerasset';
/** Device category ↔ its command definitions. */
export const CATEGORY_COMMANDS_RELATIONSHIP = 'msdyn_iotdevicecategorycommands';
/** Command definition ↔ its parameters (property definitions). */
export const COMMAND_PARAMETERS_RELATIONSHIP = 'msdyn_iotdevicecommandparameters';

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
  '_msdyn_category_value',
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
  'createdon',
  'modifiedon',
];

export const CaseColumns = ['incidentid', 'title', 'description', '_msdyn_iotalert_value'];
export const WorkOrderColumns = [
  'msdyn_workorderid',
  'msdyn_workordersummary',
  '_msdyn_iotalert_value',
  '_msdyn_servicerequest_value',
  '_msdyn_customerasset_value',
];
export const DeviceDataColumns = [
  'msdyn_iotdevicedatahistoryid',
  'msdyn_iothubdeviceid',
  '_msdyn_device_value',
  'msdyn_connectionstate',
  'msdyn_connectionstateupdatedtime',
  'msdyn_lastactivitytime',
  'msdyn_devicereportedproperties',
];

/** `msdyn_status` of a device data history row: the hub answered with the device's twin (Enabled). */
export const DEVICE_DATA_STATUS_ENABLED = 192350000;

/**
 * The columns of the optional Fieldlink extension solution (`solution/`), used only when
 * `EntityDefinitions` shows the organisation has them.
 */
export const ExtensionColumns = { commandState: { entity: 'msdyn_iotdevicecommand', column: 'fl_commandstate' } } as const;

/** The note that keeps alert data too long for `msdyn_alertdata`, whole. */
export const ALERT_DATA_NOTE_SUBJECT = 'Fieldlink: full alert data';
