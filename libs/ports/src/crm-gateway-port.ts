import type { IoTAlert } from '@fieldlink/domain';

export interface CreatedIoTAlert {
  readonly alertId: string;
  /** False when an alert with the same token existed already: creation is idempotent. */
  readonly created: boolean;
}

export interface StoredIoTAlert extends IoTAlert {
  readonly alertId: string;
}

/** Flows 7–10 and what the CRM side keeps: the Dynamics 365 records the flows read and write. */
export interface CrmGatewayPort {
  /** Creates the alert unless one with the same alert token exists; never makes a second record. */
  createIoTAlert(alert: IoTAlert): Promise<CreatedIoTAlert>;
  listIoTAlerts(): Promise<StoredIoTAlert[]>;
}
