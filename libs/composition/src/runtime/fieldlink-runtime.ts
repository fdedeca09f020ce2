import { InMemoryIotHub, randomIds, systemClock } from '@fieldlink/adapter-in-memory';
import { err, ok, type Result } from '@fieldlink/domain';
import { DeviceTypeCatalog, type QueueProcessor } from '@fieldlink/flows';
import { TOKENS, type ClockPort, type FeedbackSubscription, type IdPort, type LogPort, type TelemetrySubscription, type Token } from '@fieldlink/ports';
import type { Container } from 'inversify';
import { PORT_NAMES, type FieldlinkConfig, type PortName } from '../config/fieldlink-config.js';
import type { ConfigIssue } from '../config/load-config.js';
import { automationPolicyOf } from '../config/automation-document.js';
import { deviceRulesOfTypes, deviceTypesOf } from '../config/device-types-document.js';
import { deviceRulesOf } from '../config/rules-file.js';
import { APP_TOKENS } from '../container/app-tokens.js';
import { createFieldlinkContainer, crmAnnouncesOnOutboundQueue } from '../container/fieldlink-container.js';
import { AZURE_FACTORIES } from '../container/azure-factories.js';
import { DYNAMICS_FACTORIES } from '../container/dynamics-factories.js';
import { SQL_FACTORIES } from '../container/sql-factories.js';
import { telemetrySourceOf } from '../container/telemetry-source.js';
import { resolveToken } from '../container/typed-bindings.js';
import { buildPortAdapters, IN_MEMORY_FACTORIES, type AdapterFactories, type PortAdapters } from '../container/port-adapters.js';
import { EventFeed } from '../log/event-feed.js';
import type { NotReady, Readiness } from './health-server.js';

/** One thing a process runs: started in order, stopped in reverse. */
export interface RuntimePart {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Where log events go besides subscribers (the terminal); none by default. */
  readonly log?: LogPort;
  /** An event feed to use instead of a new one (e.g. shared with a web server). */
  readonly feed?: EventFeed;
  readonly clock?: ClockPort;
  readonly ids?: IdPort;
  /** Adapter factories besides the in-memory ones (Azure, Dynamics), tried first. */
  readonly factories?: readonly AdapterFactories[];
}

/** A running (or ready) Fieldlink process: its container, its event feed, and start/stop. */
export class FieldlinkRuntime {
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly running = new Set<string>();
  private failure: { readonly part: string; readonly reason: string } | undefined;

  constructor(
    readonly config: FieldlinkConfig,
    readonly container: Container,
    readonly feed: EventFeed,
    private readonly parts: readonly RuntimePart[],
    private readonly adapters: PortAdapters,
  ) {}

  /** What `token` is bound to, of the token's type. */
  get<T>(token: Token<T>): T {
    return resolveToken(this.container, token);
  }

  /** Whether this process has a binding for `token` (a flow whose ports it lacks is not bound). */
  has(token: Token<unknown>): boolean {
    return this.container.isBound(token);
  }

  /** The part being started, while start() runs: what a slow start-up is waiting for. */
  starting: string | undefined;

  /** Starts the parts in order; a part that fails rejects with a PartStartError naming it. */
  async start(onPart?: (name: string) => void): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const part of this.parts) {
      this.starting = part.name;
      onPart?.(part.name);
      try {
        await part.start();
      } catch (e) {
        this.failure = { part: part.name, reason: `could not start: ${e instanceof Error ? e.message : String(e)}` };
        throw new PartStartError(part.name, e);
      }
      this.running.add(part.name);
    }
    this.starting = undefined;
  }

  /** Ready once every part started; until then (and once stopping) the parts that are not, and why. */
  readiness(): Readiness {
    if (this.stopping !== undefined) return { ready: false, notReady: [{ part: 'runtime', reason: 'stopping' }] };
    const notReady: NotReady[] = this.parts
      .filter((p) => !this.running.has(p.name))
      .map((p) => (this.failure?.part === p.name ? this.failure : { part: p.name, reason: p.name === this.starting ? 'starting' : 'not started' }));
    return notReady.length === 0 ? { ready: true } : { ready: false, notReady };
  }

  /** Stops every part in reverse order, then lets go of the adapters; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of [...this.parts].reverse()) {
        try {
          await part.stop();
        } catch (e) {
          this.feed.error('runtime.stop-failed', { part: part.name, error: (e as Error).message });
        }
      }
      await this.adapters.close();
    })();
    return this.stopping;
  }
}

/** A part of the runtime could not start: its name, and what it failed with. */
export class PartStartError extends Error {
  constructor(
    readonly part: string,
    override readonly cause: unknown,
  ) {
    super(`${part} could not start: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PartStartError';
  }
}

export type RuntimeRole = 'stream-processor' | 'orchestrator';

/** The ports each role needs. */
export const ROLE_PORTS: Record<RuntimeRole, readonly PortName[]> = {
  'stream-processor': ['telemetry', 'alertsQueue', 'referenceData', 'statusStore', 'ruleStateStore'],
  orchestrator: ['telemetry', 'alertsQueue', 'outboundQueue', 'crm', 'deviceRegistry', 'cloudToDevice'],
};

export interface Assembly {
  readonly container: Container;
  readonly feed: EventFeed;
  readonly adapters: PortAdapters;
}

/** Builds the adapters of `ports` and the container over them. */
export async function assemble(config: FieldlinkConfig, ports: readonly PortName[], options: RuntimeOptions): Promise<Result<Assembly, ConfigIssue[]>> {
  const feed = options.feed ?? new EventFeed(options.log);
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const types = deviceTypesOf(config.deviceTypes.file);
  if (!types.ok) return err(types.error.map((i) => ({ path: 'deviceTypes.file', message: `${i.path}: ${i.message}`, source: config.deviceTypes.file! })));
  // A CFS devicerules.json is the reference data when given; otherwise the device types' own threshold rules.
  const rules = config.rules.file === undefined ? ok(deviceRulesOfTypes(types.value)) : deviceRulesOf(config.rules.file);
  if (!rules.ok) return err(rules.error.map((i) => ({ path: 'rules.file', message: `${i.path}: ${i.message}`, source: config.rules.file! })));
  const catalog = new DeviceTypeCatalog([
    { name: types.value.source === 'built-in' ? 'built-in' : 'configuration', deviceTypes: types.value.types.map((t) => t.definition) },
  ]);
  const automation = automationPolicyOf(config.automation.file, catalog, config.rules.defaultDeviceType);
  if (!automation.ok)
    return err(automation.error.map((i) => ({ path: 'automation.file', message: `${i.path}: ${i.message}`, source: config.automation.file! })));
  let hub: InMemoryIotHub | undefined;
  const built = await buildPortAdapters(
    [...new Set(ports)],
    {
      config,
      clock,
      ids,
      log: feed,
      deviceRules: rules.value,
      inMemoryHub: () =>
        (hub ??= new InMemoryIotHub({
          clock,
          partitionCount: config.inMemory.partitionCount,
          // Ingest's position survives in a durable rule state store while this hub starts afresh: its numbers start above any earlier run's.
          ...(config.ports.ruleStateStore === 'in-memory' ? {} : { firstSequenceNumber: clock.now() * 1_000 }),
          // The hub hands the batch again from the checkpoint: a warning, not a loss.
          onHandlerError: (e, partitionId) => feed.warn('telemetry.batch-retried', { partitionId, error: e.message }),
        })),
    },
    [...(options.factories ?? []), AZURE_FACTORIES, DYNAMICS_FACTORIES, SQL_FACTORIES, IN_MEMORY_FACTORIES],
  );
  if (!built.ok) return built;
  const adapters: PortAdapters = {
    ...built.value,
    close: async () => {
      await built.value.close();
      hub?.cloudToDevice.close();
    },
  };
  const dispatchDirectly = !crmAnnouncesOnOutboundQueue(config);
  // Workers open the same adapters in their threads: not those this process was given factories of its own for.
  const ownFactories = new Set(PORT_NAMES.filter((port) => options.factories?.some((f) => f[port] !== undefined)));
  const telemetrySource = telemetrySourceOf(config, rules.value, ownFactories);
  return ok({
    container: createFieldlinkContainer({
      config,
      feed,
      clock,
      ids,
      adapters,
      dispatchDirectly,
      catalog,
      deviceTypes: types.value,
      automation: automation.value,
      ...(telemetrySource === undefined ? {} : { telemetrySource }),
    }),
    feed,
    adapters,
  });
}

// ---- the parts ----

/** Telemetry → rules → alerts queue, aggregates, device health (flows 3 → 6). */
export function telemetryIngestPart(container: Container, consumerGroup: string): RuntimePart {
  let subscription: TelemetrySubscription | undefined;
  return {
    name: 'telemetry-ingest',
    start: async () => {
      const ingest = resolveToken(container, APP_TOKENS.TelemetryIngest);
      // The ingest marks the intake's checkpoints itself, after each commit; closing commits what is left.
      subscription = await ingest.subscribe(resolveToken(container, TOKENS.TelemetryIntake), consumerGroup);
    },
    stop: async () => subscription?.close(),
  };
}

/** Offline detection from heartbeats: sweeps the device health on an interval. */
export function connectionMonitorPart(container: Container, everyMs: number): RuntimePart {
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  return {
    name: 'connection-monitor',
    start: async () => {
      const monitor = resolveToken(container, APP_TOKENS.DeviceConnectionMonitor);
      timer = setInterval(() => {
        sweeping ??= monitor.sweep().finally(() => (sweeping = undefined));
      }, everyMs);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      await sweeping;
    },
  };
}

/** The devices' answers to commands, read from the telemetry stream in their own consumer group. */
export function commandAcknowledgementsPart(container: Container, consumerGroup: string): RuntimePart {
  let subscription: TelemetrySubscription | undefined;
  return {
    name: 'command-acknowledgements',
    start: async () => {
      const acks = resolveToken(container, APP_TOKENS.CommandAcknowledgements);
      subscription = await resolveToken(container, TOKENS.TelemetryIntake).subscribe(consumerGroup, (batch) => acks.handleBatch(batch));
    },
    stop: async () => subscription?.close(),
  };
}

/** A queue processor (alerts queue → CRM, outbound queue → devices). */
export function queueProcessorPart(container: Container, token: Token<QueueProcessor>, name: string): RuntimePart {
  return {
    name,
    start: async () => resolveToken(container, token).start(),
    stop: async () => resolveToken(container, token).stop(),
  };
}

/** The hub's delivery feedback → command states. */
export function commandFeedbackPart(container: Container): RuntimePart {
  let subscription: FeedbackSubscription | undefined;
  return {
    name: 'command-feedback',
    start: async () => {
      subscription = await resolveToken(container, APP_TOKENS.CommandFeedback).subscribe(resolveToken(container, TOKENS.CloudToDevice));
    },
    stop: async () => subscription?.close(),
  };
}

/**
 * On an interval: sends again every command a throttled hub or a full device queue left
 * `requested`, and expires the overdue ones (see CommandSweep). State is in the CRM, so a restart
 * carries on where the last run stopped.
 */
export function pendingCommandsPart(container: Container, everyMs: number): RuntimePart {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  return {
    name: 'pending-commands',
    start: async () => {
      const sweep = resolveToken(container, APP_TOKENS.CommandSweep);
      const log = resolveToken(container, TOKENS.Log);
      timer = setInterval(() => {
        running ??= sweep
          .sweep()
          .catch((e: unknown) => log.warn('command.sweep-failed', { error: (e as Error).message }))
          .finally(() => (running = undefined));
      }, everyMs);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/** The stream processor's consumer group (`eventHubs.consumerGroup`, the in-memory hub's too). */
export const consumerGroupOf = (config: FieldlinkConfig): string => config.eventHubs.consumerGroup;
/** The orchestrator's consumer group for the devices' replies (`eventHubs.repliesConsumerGroup`). */
export const repliesConsumerGroupOf = (config: FieldlinkConfig): string => config.eventHubs.repliesConsumerGroup;
