import type { IoTAlert } from '@fieldlink/domain';
import type { CreatedIoTAlert, CrmGatewayPort, IdPort, StoredIoTAlert } from '@fieldlink/ports';

/** The Dynamics 365 records the flows touch, kept in process. */
export class InMemoryCrm implements CrmGatewayPort {
  private readonly alertsById = new Map<string, StoredIoTAlert>();
  private readonly alertIdByToken = new Map<string, string>();

  constructor(private readonly ids: IdPort) {}

  async createIoTAlert(alert: IoTAlert): Promise<CreatedIoTAlert> {
    const existing = this.alertIdByToken.get(alert.alertToken);
    if (existing !== undefined) return { alertId: existing, created: false };
    const alertId = this.ids.newId();
    this.alertsById.set(alertId, { ...alert, alertId });
    this.alertIdByToken.set(alert.alertToken, alertId);
    return { alertId, created: true };
  }

  async listIoTAlerts(): Promise<StoredIoTAlert[]> {
    return [...this.alertsById.values()];
  }
}
