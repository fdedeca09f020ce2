import type { ClockPort, DeviceHealth, LogPort, StatusStorePort } from '@fieldlink/ports';

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
}

/**
 * Connection state from heartbeats, not trusted from the hub (domain.md): a device is offline
 * when nothing arrived within its heartbeat interval times the tolerance. Telemetry ingest marks
 * a device online with every message; this sweep, run on a timer, marks the silent ones offline.
 */
export class DeviceConnectionMonitor {
  constructor(private readonly deps: DeviceConnectionMonitorDeps) {}

  /** Marks every device silent for too long offline; returns the ones that went offline now. */
  async sweep(): Promise<DeviceHealth[]> {
    const now = this.deps.clock.now();
    const wentOffline: DeviceHealth[] = [];
    for (const health of await this.deps.statusStore.listDeviceHealth()) {
      if (!health.online) continue;
      const interval = this.deps.heartbeatIntervalOf?.(health.deviceId) ?? this.deps.heartbeatIntervalMs ?? 60_000;
      const allowedSilence = interval * (this.deps.tolerance ?? 3);
      if (now - health.lastActivityTime <= allowedSilence) continue;
      const offline = { ...health, online: false };
      await this.deps.statusStore.upsertDeviceHealth(offline);
      this.deps.log.warn('device.offline', { deviceId: health.deviceId, lastActivityTime: health.lastActivityTime, silentForMs: now - health.lastActivityTime });
      wentOffline.push(offline);
    }
    return wentOffline;
  }
}
