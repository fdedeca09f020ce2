import type { AlertState, AlertStatus, AlertType } from './alert-values.js';

/**
 * An IoT alert as the CRM keeps it (`msdyn_iotalert`). `alertToken` is the event id at the
 * source and the key that makes creation idempotent.
 */
export interface IoTAlert {
  readonly alertToken: string;
  readonly deviceId: string;
  readonly description: string;
  /** The raw event as JSON text, as CFS stores it in `msdyn_alertdata`. */
  readonly alertData: string;
  /** Epoch milliseconds. */
  readonly alertTime: number;
  readonly alertType: AlertType;
  readonly state: AlertState;
  readonly status: AlertStatus;
}
