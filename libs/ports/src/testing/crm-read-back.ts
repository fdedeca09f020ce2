import type { CrmCase, CrmCustomerAsset, StoredIoTAlert } from '../crm-gateway-port.js';

/**
 * Reads that tests make to see what a flow or an adapter wrote, and no flow needs: they are not
 * part of `CrmGatewayPort`. Each CRM adapter offers them (the in-memory CRM and the Dynamics
 * gateway both do), so its conformance suite and the flows' tests can check the records.
 */
export interface CrmReadBack {
  getCustomerAsset(customerAssetId: string): Promise<CrmCustomerAsset | undefined>;
  /** Every alert of an event token (the event's readings over their thresholds), oldest first. */
  findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]>;
  /** The cases, of one alert when given. */
  listCases(query?: { readonly alertId?: string }): Promise<CrmCase[]>;
}
