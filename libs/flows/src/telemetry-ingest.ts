import { CfsAlertQuery, describeIssues, emptyCfsAlertQueryState, type CfsThresholdRule, type ThresholdAlert } from '@fieldlink/domain';
import { decodeTelemetry, encodeCfsAlertMessage, type LogPort, type MessageQueuePort, type ReferenceDataPort, type RejectedTelemetryPort, type TelemetryEnvelope } from '@fieldlink/ports';

export interface TelemetryIngestDeps {
  readonly referenceData: ReferenceDataPort;
  readonly alertsQueue: MessageQueuePort;
  readonly rejected: RejectedTelemetryPort;
  readonly log: LogPort;
  /** The device type assumed for a device the metadata does not know (CFS joins on 'Thermostat'). */
  readonly defaultDeviceType: string;
}

/**
 * Flows 3 → 6: each device-to-cloud message is decoded, checked against the device rules in
 * force at its enqueued time, and every alert it raises goes to the alerts queue in the CFS
 * shape. A message that cannot be read is kept with its reason, never dropped.
 */
export class TelemetryIngest {
  private readonly state = emptyCfsAlertQueryState();
  private query: { rules: readonly CfsThresholdRule[]; query: CfsAlertQuery } | undefined;

  constructor(private readonly deps: TelemetryIngestDeps) {}

  async handleBatch(batch: readonly TelemetryEnvelope[]): Promise<void> {
    for (const envelope of batch) await this.handle(envelope);
  }

  async handle(envelope: TelemetryEnvelope): Promise<ThresholdAlert[]> {
    const decoded = decodeTelemetry(envelope.body, envelope.enqueuedTime);
    if (!decoded.ok) {
      const description = describeIssues(decoded.error);
      await this.deps.rejected.reject({ envelope, reason: 'InvalidTelemetry', description });
      this.deps.log.warn('telemetry.rejected', { deviceId: envelope.connectionDeviceId, description });
      return [];
    }
    const event = decoded.value;
    const query = await this.queryAt(event.enqueuedTime);
    const deviceType = (await this.deps.referenceData.deviceTypeOf(event.deviceId)) ?? this.deps.defaultDeviceType;
    const alerts = query.evaluate(this.state, event, deviceType);
    if (alerts.length === 0) return alerts;
    // The event token keys duplicate detection: a re-read batch never raises an alert twice.
    await this.deps.alertsQueue.send([{ messageId: event.eventToken, body: encodeCfsAlertMessage(alerts), contentType: 'application/json', correlationId: event.eventToken }]);
    for (const alert of alerts) {
      this.deps.log.info('alert.raised', { correlationId: event.eventToken, deviceId: alert.deviceId, readingType: alert.readingType, reading: alert.reading, threshold: alert.threshold, ruleOutput: alert.ruleOutput });
    }
    return alerts;
  }

  private async queryAt(at: number): Promise<CfsAlertQuery> {
    const rules = await this.deps.referenceData.deviceRules(at);
    if (this.query?.rules !== rules) this.query = { rules, query: new CfsAlertQuery(rules) };
    return this.query.query;
  }
}
