// Flows 5–6 (ingest): device health, online or offline from the time of its last message, and the offline alert.
import { timeToken, type DeviceTypeDefinition, type RuleDefinition, type ThresholdAlert } from '@fieldlink/domain';
import { encodeCfsAlertMessage, type ClockPort, type DeviceHealth, type LogPort, type MessageQueuePort, type StatusStorePort } from '@fieldlink/ports';

/** An absence rule of a device type that counts any message: the device type asks for an alert when its device goes silent. */
export type OfflineRule = Extract<RuleDefinition, { kind: 'absence' }>;

export interface DeviceConnectionMonitorDeps {
  readonly statusStore: StatusStorePort;
  readonly clock: ClockPort;
  readonly log: LogPort;
  /** How often a device is expected to send something (its heartbeat interval); 60 s by default. */
  readonly heartbeatIntervalMs?: number;
  /** How many intervals may pass in silence before the device counts as offline; 3 by default. */
  readonly tolerance?: number;
  /** A device's own interval, when devices differ (e.g. per device type). */
  readonly heartbeatIntervalOf?: (deviceId: string) => number | undefined;
  /**
   * Where a device going offline raises its alert (flow 6, the CFS alerts-queue shape), when its
   * device type asks for one; without it, going offline is only logged.
   */
  readonly alertsQueue?: MessageQueuePort;
  /** The device types whose rules are read for absence rules; with `deviceTypeOf`. */
  readonly deviceTypes?: readonly DeviceTypeDefinition[];
  /** A device's type (the reference data's device metadata); undefined when unknown. */
  readonly deviceTypeOf?: (deviceId: string) => Promise<string | undefined>;
  /** The type of a device `deviceTypeOf` does not know (CFS joins on 'Thermostat'). */
  readonly defaultDeviceType?: string;
}

/**
 * Connection state from heartbeats, not trusted from the hub (domain.md): a device is offline
 * when nothing arrived within its heartbeat interval times the tolerance. Telemetry ingest marks
 * a device online with every message; this sweep, run on a timer, marks the silent ones offline.
 *
 * A device type asks for an alert on going offline with an absence rule that counts any message
 * (`{ kind: 'absence', forMs }` among its rules, no `reading`): its devices are offline once
 * silent for the rule's `forMs`, and each such rule raises its alert to the alerts queue, once per
 * silence. The alert is the one the rules engine raises for that rule: stamped when the silence
 * reached its length (last activity + `forMs`, event time), reading type `Message`, reading and
 * threshold `forMs`, the rule's output, and the engine's token for an alert raised by time. So
 * where the stream processor runs the same rule, the two are one message (same message id) and
 * one IoT alert (same record id).
 */
export class DeviceConnectionMonitor {
  /** Per device: the last activity whose silence raised each rule's alert (`ruleId` → activity time). */
  private readonly raised = new Map<string, Map<string, number>>();

  constructor(private readonly deps: DeviceConnectionMonitorDeps) {}

  /** Marks every device silent for too long offline, and raises the alerts their device types ask for; returns the ones that went offline now. */
  async sweep(): Promise<DeviceHealth[]> {
    const now = this.deps.clock.now();
    const wentOffline: DeviceHealth[] = [];
    for (const health of await this.deps.statusStore.listDeviceHealth()) {
      const rules = await this.offlineRulesOf(health.deviceId);
      const silentForMs = now - health.lastActivityTime;
      if (health.online) {
        const interval = this.deps.heartbeatIntervalOf?.(health.deviceId) ?? this.deps.heartbeatIntervalMs ?? 60_000;
        const allowedSilence = rules.length > 0 ? Math.min(...rules.map((r) => r.forMs)) : interval * (this.deps.tolerance ?? 3);
        if (silentForMs > allowedSilence) {
          const offline = { ...health, online: false };
          await this.deps.statusStore.upsertDeviceHealth(offline);
          this.deps.log.warn('device.offline', { deviceId: health.deviceId, lastActivityTime: health.lastActivityTime, silentForMs });
          wentOffline.push(offline);
        }
      }
      for (const rule of rules) if (silentForMs > rule.forMs) await this.raise(health, rule);
    }
    return wentOffline;
  }

  /** The absence rules (any message) of the device's type that apply to it. */
  private async offlineRulesOf(deviceId: string): Promise<OfflineRule[]> {
    const { deviceTypes, deviceTypeOf, alertsQueue } = this.deps;
    if (alertsQueue === undefined || deviceTypes === undefined || deviceTypes.length === 0) return [];
    const typeName = (await deviceTypeOf?.(deviceId)) ?? this.deps.defaultDeviceType;
    const type = deviceTypes.find((t) => t.name === typeName);
    if (type === undefined) return [];
    return type.defaultRules.filter(
      (r): r is OfflineRule =>
        r.kind === 'absence' && r.reading === undefined && ('deviceType' in r.scope ? r.scope.deviceType === type.name : r.scope.deviceId === deviceId),
    );
  }

  /** Sends the rule's alert for the device's current silence, unless it went already. */
  private async raise(health: DeviceHealth, rule: OfflineRule): Promise<void> {
    let ofDevice = this.raised.get(health.deviceId);
    if (ofDevice?.get(rule.id) === health.lastActivityTime) return;
    const time = health.lastActivityTime + rule.forMs;
    const alert: ThresholdAlert = {
      deviceId: health.deviceId,
      readingType: 'Message',
      reading: rule.forMs,
      eventToken: timeToken(rule.id, health.deviceId, time),
      threshold: rule.forMs,
      ruleOutput: rule.output ?? rule.id,
      time,
    };
    await this.deps.alertsQueue!.send([
      { messageId: alert.eventToken, body: encodeCfsAlertMessage([alert]), contentType: 'application/json', correlationId: alert.eventToken },
    ]);
    this.deps.log.info('alert.raised', {
      correlationId: alert.eventToken,
      deviceId: alert.deviceId,
      readingType: alert.readingType,
      reading: alert.reading,
      ruleOutput: alert.ruleOutput,
    });
    if (ofDevice === undefined) this.raised.set(health.deviceId, (ofDevice = new Map()));
    ofDevice.set(rule.id, health.lastActivityTime);
  }
}
