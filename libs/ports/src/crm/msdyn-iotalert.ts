import type { IoTAlert } from '@fieldlink/domain';

/** An IoT alert in Dataverse's column names (`msdyn_iotalert`), as the CRM adapters write it. */
export interface MsdynIotAlertRecord {
  readonly msdyn_alerttoken: string;
  readonly msdyn_deviceid: string;
  readonly msdyn_description: string;
  readonly msdyn_alertdata: string;
  readonly msdyn_alerttime: string;
  readonly msdyn_alerttype: number;
  readonly statecode: number;
  readonly statuscode: number;
}

export const toMsdynIotAlertRecord = (alert: IoTAlert): MsdynIotAlertRecord => ({
  msdyn_alerttoken: alert.alertToken,
  msdyn_deviceid: alert.deviceId,
  msdyn_description: alert.description,
  msdyn_alertdata: alert.alertData,
  msdyn_alerttime: new Date(alert.alertTime).toISOString(),
  msdyn_alerttype: alert.alertType,
  statecode: alert.state,
  statuscode: alert.status,
});
