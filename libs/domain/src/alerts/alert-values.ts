/** `msdyn_alerttype`, as Dynamics 365 stores it. */
export const AlertType = {
  Anomaly: 192350000,
  Info: 192350001,
  PreventiveMaintenance: 192350002,
  Test: 192350003,
} as const;
export type AlertType = (typeof AlertType)[keyof typeof AlertType];

/** `statecode` of `msdyn_iotalert`. */
export const AlertState = { Active: 0, Inactive: 1, InProgress: 2, Closed: 3 } as const;
export type AlertState = (typeof AlertState)[keyof typeof AlertState];

/** `statuscode` of `msdyn_iotalert`. */
export const AlertStatus = {
  Active: 1,
  Inactive: 2,
  InProgressCaseCreated: 3,
  InProgressCommandSent: 5,
  Closed: 6,
} as const;
export type AlertStatus = (typeof AlertStatus)[keyof typeof AlertStatus];

export const ALERT_DESCRIPTION_MAX = 100;
export const ALERT_DATA_MAX = 8192;
