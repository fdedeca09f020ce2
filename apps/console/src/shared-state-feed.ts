import type { CrmGatewayPort, LogPort, StatusStorePort } from '@fieldlink/ports';
import type { LiveEvents } from '@fieldlink/ui-console';

export interface SharedStateFeedOptions {
  readonly crm: CrmGatewayPort;
  readonly statusStore: StatusStorePort;
  /** How often the shared state is read (default 1 s). */
  readonly pollIntervalMs?: number;
  readonly log?: LogPort;
}

type Listener = (event: { readonly event: string }) => void;

/**
 * The console's live events when the work happens in other processes: on an interval it reads
 * what those processes write (the CRM's alerts, commands and devices, the status store's device
 * health) and, when a part changed, tells the pages to read again (`alerts.changed`,
 * `commands.changed`, `devices.changed`, `device-health.changed`). A read that fails is logged
 * once per failure streak and tried again at the next interval.
 */
export class SharedStateFeed implements LiveEvents {
  private readonly listeners = new Set<Listener>();
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: SharedStateFeedOptions) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer !== undefined) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Reads the shared state once and announces what changed since the last read (the first read sets the baseline). */
  poll(): Promise<void> {
    this.polling ??= this.readOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readOnce(): Promise<void> {
    const { crm, statusStore } = this.options;
    try {
      const [alerts, commands, devices, health] = await Promise.all([
        crm.listIoTAlerts({ top: 200 }),
        crm.listCommands({ top: 200 }),
        crm.listDevices(),
        statusStore.listDeviceHealth(),
      ]);
      const parts: Record<string, string> = {
        'alerts.changed': alerts.map((a) => `${a.alertId}:${a.state}:${a.status}:${a.caseId ?? ''}:${a.lastCommandId ?? ''}`).join(','),
        'commands.changed': commands.map((c) => `${c.commandId}:${c.state}:${c.modifiedOn}`).join(','),
        'devices.changed': devices.map((d) => `${d.deviceRecordId}:${d.registrationStatus}`).join(','),
        'device-health.changed': health.map((h) => `${h.deviceId}:${h.online}:${h.lastActivityTime}`).join(','),
      };
      const first = this.seen.size === 0;
      for (const [event, fingerprint] of Object.entries(parts)) {
        const before = this.seen.get(event);
        this.seen.set(event, fingerprint);
        if (!first && before !== fingerprint) for (const listener of [...this.listeners]) listener({ event });
      }
      if (this.failing) this.options.log?.info('console.shared-state-readable');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.options.log?.warn('console.shared-state-unreadable', { error: (e as Error).message });
      this.failing = true;
    }
  }
}
