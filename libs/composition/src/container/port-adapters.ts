import type { InMemoryIotHub } from '@fieldlink/adapter-in-memory';
import {
  InMemoryCrm,
  InMemoryQueue,
  InMemoryReferenceData,
  InMemoryRejectedTelemetry,
  InMemoryRuleStateStore,
  InMemoryStatusStore,
} from '@fieldlink/adapter-in-memory';
import { err, ok, type CfsThresholdRule, type Result } from '@fieldlink/domain';
import type {
  ClockPort,
  CloudToDevicePort,
  CrmGatewayPort,
  DeviceClientPort,
  DeviceRegistryPort,
  DeviceTelemetryPort,
  IdPort,
  LogPort,
  MessageQueuePort,
  ReferenceDataPort,
  RejectedTelemetryPort,
  RuleStateStorePort,
  StatusStorePort,
  TelemetryIntakePort,
} from '@fieldlink/ports';
import { PORT_NAMES, type AdapterName, type FieldlinkConfig, type PortName } from '../config/fieldlink-config.js';
import type { ConfigIssue } from '../config/load-config.js';
import type { AlertHistoryWriter } from './alert-history-queue.js';

/** What each port is, once an adapter plays it. */
export interface PortTypes {
  telemetry: { readonly intake: TelemetryIntakePort; readonly deviceTelemetry?: DeviceTelemetryPort };
  alertsQueue: MessageQueuePort;
  outboundQueue: MessageQueuePort;
  crm: CrmGatewayPort;
  deviceRegistry: DeviceRegistryPort;
  cloudToDevice: CloudToDevicePort;
  deviceClient: DeviceClientPort;
  referenceData: ReferenceDataPort;
  statusStore: StatusStorePort;
  ruleStateStore: RuleStateStorePort;
}

/** What a factory may use: the configuration, the shared services, and the in-memory world of this process. */
export interface AdapterContext {
  readonly config: FieldlinkConfig;
  readonly clock: ClockPort;
  readonly ids: IdPort;
  readonly log: LogPort;
  readonly deviceRules: readonly CfsThresholdRule[];
  /** The one in-memory IoT hub of this process: telemetry, registry, cloud-to-device and device client share it. */
  inMemoryHub(): InMemoryIotHub;
}

/** An adapter instance, and how to let go of it at stop. */
export interface Built<T> {
  readonly port: T;
  close?(): Promise<void>;
  /** A status store that also keeps rejected telemetry (a SQL database) hands it here; in memory otherwise. */
  readonly rejectedTelemetry?: RejectedTelemetryPort;
  /** A SQL status store also keeps the alert history (its `alerthistory` table); none otherwise. */
  readonly alertHistory?: AlertHistoryWriter;
}

/** What a factory is given: the context, and the adapters of the ports built before its own (in `PORT_NAMES` order). */
export interface FactoryContext extends AdapterContext {
  builtPort<Q extends PortName>(port: Q): PortTypes[Q] | undefined;
}

export type AdapterFactory<P extends PortName> = (context: FactoryContext) => Promise<Built<PortTypes[P]>>;

/**
 * Which factory builds each adapter of each port. Adding an adapter is adding its factory here
 * (or passing it in `extraFactories`); a configured adapter without a factory is refused at start.
 */
export type AdapterFactories = { readonly [P in PortName]?: Partial<Record<AdapterName<P>, AdapterFactory<P>>> };

const queue =
  (which: 'alerts' | 'outbound') =>
  async ({ config, clock }: AdapterContext): Promise<Built<MessageQueuePort>> => {
    const q = new InMemoryQueue(which, { clock, ...config.inMemory });
    return { port: q, close: () => q.close() };
  };

export const IN_MEMORY_FACTORIES: AdapterFactories = {
  telemetry: { 'in-memory': async (c) => ({ port: { intake: c.inMemoryHub(), deviceTelemetry: c.inMemoryHub() } }) },
  alertsQueue: { 'in-memory': queue('alerts') },
  outboundQueue: { 'in-memory': queue('outbound') },
  crm: { 'in-memory': async ({ ids, clock }) => ({ port: new InMemoryCrm(ids, { clock }) }) },
  deviceRegistry: { 'in-memory': async (c) => ({ port: c.inMemoryHub() }) },
  cloudToDevice: { 'in-memory': async (c) => ({ port: c.inMemoryHub().cloudToDevice }) },
  deviceClient: { 'in-memory': async (c) => ({ port: c.inMemoryHub() }) },
  referenceData: { 'in-memory': async ({ deviceRules }) => ({ port: new InMemoryReferenceData(deviceRules) }) },
  statusStore: { 'in-memory': async () => ({ port: new InMemoryStatusStore() }) },
  ruleStateStore: { 'in-memory': async () => ({ port: new InMemoryRuleStateStore() }) },
};

export type PortAdapters = { readonly [P in PortName]?: PortTypes[P] } & {
  readonly rejectedTelemetry: RejectedTelemetryPort;
  /** Where the alerts stream processing sends are recorded, when the status store keeps them. */
  readonly alertHistory?: AlertHistoryWriter;
  /** Closes every adapter built, in reverse order. */
  close(): Promise<void>;
};

/** Builds the configured adapter of each port in `needed`; refuses, naming the setting, a configured adapter this build has no factory for. */
export async function buildPortAdapters(
  needed: readonly PortName[],
  context: AdapterContext,
  factories: readonly AdapterFactories[] = [IN_MEMORY_FACTORIES],
): Promise<Result<PortAdapters, ConfigIssue[]>> {
  const issues: ConfigIssue[] = [];
  const chosen: Array<[PortName, AdapterFactory<PortName>]> = [];
  // In PORT_NAMES order, so a factory finds the ports it builds on (the embedded Dataverse emulator posts to the outbound queue).
  const ordered = PORT_NAMES.filter((p) => needed.includes(p));
  for (const port of ordered) {
    const adapter = context.config.ports[port];
    const factory = factories.map((f) => (f[port] as Partial<Record<string, AdapterFactory<PortName>>> | undefined)?.[adapter]).find((f) => f !== undefined);
    if (factory === undefined) issues.push({ path: `ports.${port}`, message: `the "${adapter}" adapter is not available in this build` });
    else chosen.push([port, factory]);
  }
  if (issues.length > 0) return err(issues);
  const built: Partial<Record<PortName, unknown>> = {};
  const closers: Array<() => Promise<void>> = [];
  let rejectedTelemetry: RejectedTelemetryPort | undefined;
  let alertHistory: AlertHistoryWriter | undefined;
  for (const [port, factory] of chosen) {
    let instance: Built<unknown>;
    try {
      instance = await factory({ ...context, builtPort: <Q extends PortName>(p: Q) => built[p] as PortTypes[Q] | undefined });
    } catch (e) {
      // An adapter that refuses its settings: say which port, close what was built, start nothing.
      for (const close of closers.reverse()) await close();
      return err([{ path: `ports.${port}`, message: `the "${context.config.ports[port]}" adapter refused its settings: ${(e as Error).message}` }]);
    }
    built[port] = instance.port;
    rejectedTelemetry ??= instance.rejectedTelemetry;
    alertHistory ??= instance.alertHistory;
    if (instance.close !== undefined) closers.push(() => instance.close!());
  }
  return ok({
    ...(built as { [P in PortName]?: PortTypes[P] }),
    rejectedTelemetry: rejectedTelemetry ?? new InMemoryRejectedTelemetry(),
    ...(alertHistory === undefined ? {} : { alertHistory }),
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  });
}
