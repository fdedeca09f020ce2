import { AlertState, AlertStatus, AlertType, describeIssues, describeThresholdAlert, type IoTAlert } from '@fieldlink/domain';
import { decodeCfsAlertMessage, type CrmGatewayPort, type DecodedCfsAlert, type LogPort, type ReceivedQueueMessage } from '@fieldlink/ports';
import { complete, deadLetter, type Settlement } from './settlement.js';

/**
 * Flows 7–10, what the CFS "create alerts" Logic App does: parse the alerts-queue message and
 * create one IoT alert per element, with the CFS field mapping. Creation is idempotent on the
 * alert token, so a redelivered message never makes a second record.
 */
export class InboundAlerts {
  constructor(
    private readonly crm: CrmGatewayPort,
    private readonly log: LogPort,
  ) {}

  async handle(message: ReceivedQueueMessage): Promise<Settlement> {
    const decoded = decodeCfsAlertMessage(message.body);
    if (!decoded.ok) return deadLetter('InvalidAlertMessage', describeIssues(decoded.error));
    for (const item of decoded.value) {
      const result = await this.crm.createIoTAlert(toIoTAlert(item));
      this.log.info(result.created ? 'crm.alert-created' : 'crm.alert-exists', {
        correlationId: item.alert.eventToken,
        alertId: result.alertId,
        deviceId: item.alert.deviceId,
        description: describeThresholdAlert(item.alert.readingType, item.alert.reading, item.alert.threshold),
      });
    }
    return complete;
  }
}

/** flows.md, "Alert into CRM": the element as alert data, its time, token and device id, and the description. */
export function toIoTAlert({ alert, element }: DecodedCfsAlert): IoTAlert {
  return {
    alertToken: alert.eventToken,
    deviceId: alert.deviceId,
    description: describeThresholdAlert(alert.readingType, alert.reading, alert.threshold),
    alertData: JSON.stringify(element),
    alertTime: alert.time,
    alertType: AlertType.Anomaly,
    state: AlertState.Active,
    status: AlertStatus.Active,
  };
}
