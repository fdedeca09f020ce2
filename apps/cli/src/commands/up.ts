import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APP_TOKENS,
  createLocalStack,
  describeAutomationPolicy,
  describeStartOutcome,
  endpointsToCheck,
  formatConfigIssues,
  readinessOf,
  redactConfig,
  signalExitCode,
  startHealthOf,
  startWithin,
  stopSignals,
  TerminalLog,
  type FieldlinkConfig,
  type LocalStack,
  type StartOutcome,
} from '@fieldlink/composition';
import { TOKENS } from '@fieldlink/ports';
import { configFromOptions, definedOnly } from '../config-options.js';
import { LoopPresenter } from '../up/loop-presenter.js';
import { startWebServers, type WebServers } from '../up/web-servers.js';

export interface UpOptions {
  readonly config?: string;
  readonly profile?: 'embedded' | 'durable' | 'azure';
  /** Where the durable profile keeps its state (`storage.dataDir`). */
  readonly dataDir?: string;
  /** In memory only, as before the durable default: nothing is kept. */
  readonly ephemeral?: boolean;
  readonly crm?: 'in-memory' | 'dataverse';
  readonly devices?: number;
  readonly drifting?: number;
  readonly interval?: number;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly web: boolean;
  readonly showConfig: boolean;
  readonly startupTimeout?: number;
  readonly healthPort?: number;
}

/** How long `fieldlink up` waits for the stack to stop after an aborted start, before it exits anyway. */
const ABORT_STOP_MS = 3_000;

/** The demo policy `up` turns on: a thermostat over its threshold is told to cool down (Set Values). */
export const DEMO_AUTOMATION_FILE = fileURLToPath(new URL('../../examples/automation.demo.yaml', import.meta.url));

/**
 * `up` is a demonstration, so it turns the demo policy on when the configuration names no
 * automation document. Not against a real organisation (a Dataverse at `dataverse.url`): there the
 * rules framework is the organisation's own, in the CRM, and Fieldlink's stays off unless asked for.
 */
export const withDemoAutomation = (config: FieldlinkConfig): FieldlinkConfig => {
  const realOrganisation = config.ports.crm === 'dataverse' && !config.dataverse.embedded;
  return config.automation.file !== undefined || realOrganisation ? config : { ...config, automation: { ...config.automation, file: DEMO_AUTOMATION_FILE } };
};

/** `fieldlink up`: the whole loop in this process with a simulated fleet, until SIGINT or SIGTERM. */
export async function runUp(options: UpOptions): Promise<void> {
  // `fieldlink up` keeps its state on disk unless told otherwise; a profile from the file, the environment or --profile wins.
  const loaded = configFromOptions(
    options.config,
    definedOnly({
      profile: options.profile ?? (options.ephemeral === true ? 'embedded' : undefined),
      storage: { dataDir: options.dataDir },
      ports: { crm: options.crm },
      simulator: { devices: options.devices, drifting: options.drifting, intervalMs: options.interval },
      log: { format: options.json ? 'json' : undefined },
      startup: { timeoutMs: options.startupTimeout },
      health: { port: options.healthPort },
    }),
    process.env,
    { profile: 'durable' },
  );
  const config = withDemoAutomation(loaded);
  const json = config.log.format === 'json';
  const terminal = new TerminalLog(undefined, { json, colors: process.stdout.isTTY === true });
  if (options.showConfig) terminal.info('fieldlink.config', { config: JSON.stringify(redactConfig(config)) });
  const durable = usesDataDir(config);
  terminal.info(
    'fieldlink.state',
    durable
      ? { dataDir: resolve(config.storage.dataDir), kept: 'across restarts (--ephemeral for none)' }
      : { dataDir: 'none', kept: 'nothing: every port in this process only' },
  );

  // Listening from the start: Ctrl-C stops a start-up that hangs on a dead endpoint at once.
  const stop = stopSignals();
  // A rejection no one awaited (a client reconnecting in the background) ends in one line, not a trace.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`${describeStartOutcome(config, { kind: 'failed', part: undefined, error: reason }, 'fieldlink up')}\n`);
    process.exit(1);
  });
  const startup = { timeoutMs: config.startup.timeoutMs, stopRequested: stop.requested };
  let created: Awaited<ReturnType<typeof createLocalStack>> | undefined;
  const health = await startHealthOf(
    config,
    'fieldlink',
    readinessOf(() => (created?.ok === true ? created.value.runtime : undefined)),
    terminal,
  );
  if (!health.ok) {
    process.stderr.write(`${health.error.message}\n`);
    process.exit(1);
  }
  const built = await startWithin(
    async () => void (created = await createLocalStack(config)),
    () => 'adapters',
    startup,
  );
  if (built.kind !== 'started') return abortStart(config, built, undefined);
  if (!created!.ok) {
    stop.dispose();
    process.stderr.write(`${formatConfigIssues(created!.error)}\nNothing was started.\n`);
    process.exitCode = 2;
    return;
  }
  const stack = created!.value;
  const policy = stack.get(APP_TOKENS.AutomationPolicy);
  terminal.info('automation.policy', {
    source: policy.source === DEMO_AUTOMATION_FILE ? `demo (${policy.source})` : policy.source,
    rules: describeAutomationPolicy(policy).join(' | '),
  });
  const crm = stack.get(TOKENS.CrmGateway);
  const presenter = new LoopPresenter(terminal, { verbose: options.verbose || json, getAlert: (id) => crm.getIoTAlert(id) });
  // What the stack said while it was built (the embedded Dataverse emulator's address, a warning about the CRM), then everything after.
  for (const e of stack.feed.recent()) presenter.onFeedEvent(e);
  stack.feed.subscribe((e) => presenter.onFeedEvent(e));
  stack.fleet.subscribe((e) => {
    presenter.onFleetEvent(e);
    if (e.type === 'device-changed') presenter.onDeviceChanged(e.device);
  });

  // Each part as it starts with --verbose (or --json); otherwise a line every 5 s while it takes long.
  terminal.info('fieldlink.starting', { profile: config.profile, crm: config.ports.crm, limitMs: config.startup.timeoutMs });
  const announce = options.verbose || json ? (part: string) => terminal.info('fieldlink.starting-part', { part }) : undefined;
  const started = await startWithin(
    () => stack.start(announce),
    () => stack.runtime.starting,
    {
      ...startup,
      onWaiting: (part, elapsedMs) => {
        const endpoints = endpointsToCheck(config, part);
        terminal.info('fieldlink.still-starting', {
          part: part ?? 'unknown',
          waitedS: Math.round(elapsedMs / 1000),
          ...(endpoints === '' ? {} : { connectingTo: endpoints }),
          limitMs: config.startup.timeoutMs,
          stop: 'Ctrl-C',
        });
      },
    },
  );
  if (started.kind !== 'started') return abortStart(config, started, stack);
  let web: WebServers | undefined;
  if (options.web) web = await startWebServers(stack, config, terminal);
  terminal.info('fieldlink.up', {
    profile: config.profile,
    ...(durable ? { dataDir: resolve(config.storage.dataDir) } : {}),
    crm: config.ports.crm,
    devices: config.simulator.devices,
    drifting: config.simulator.drifting,
    ...(stack.sensors === undefined ? {} : { sensors: `${stack.sensors.list().length} ${stack.sensors.deviceType}` }),
    registered: presenter.registeredDevices,
    ...(web === undefined ? {} : web.addresses),
    stop: 'Ctrl-C',
  });

  await stop.requested;
  terminal.info('fieldlink.stopping');
  await web?.close();
  // Counted before the adapters close: the CRM may be the Dataverse emulator of this process.
  const totals = await summary(stack, config).catch((e: unknown) => ({ summary: `unavailable: ${(e as Error).message}` }));
  await stack.stop();
  await health.value?.close();
  terminal.info('fieldlink.stopped', totals);
}

/** Whether a port (or the emulator's file) keeps its state in the data directory. */
function usesDataDir(config: FieldlinkConfig): boolean {
  const { telemetry, alertsQueue, outboundQueue, statusStore, ruleStateStore } = config.ports;
  return (
    [telemetry, alertsQueue, outboundQueue, statusStore, ruleStateStore].includes('sqlite') ||
    (config.ports.crm === 'dataverse' && config.dataverse.embedded && (config.dataverse.database !== undefined || config.profile === 'durable'))
  );
}

/** Start-up did not finish: one line on stderr, what started is stopped (briefly), and the process ends non-zero. */
async function abortStart(config: FieldlinkConfig, outcome: Exclude<StartOutcome, { kind: 'started' }>, stack: LocalStack | undefined): Promise<never> {
  process.stderr.write(`${describeStartOutcome(config, outcome, 'fieldlink up')}\n`);
  if (stack !== undefined) {
    const stopped = stack.stop().catch(() => undefined);
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, ABORT_STOP_MS).unref())]);
  }
  // A connection still trying must not hold the process: exit now.
  process.exit(outcome.kind === 'signal' ? signalExitCode(outcome.signal) : 1);
}

async function summary(stack: LocalStack, config: FieldlinkConfig): Promise<Record<string, number | string>> {
  if (!stack.container.isBound(APP_TOKENS.AlertsProcessor)) return { profile: config.profile };
  const crm = stack.get(TOKENS.CrmGateway);
  const alerts = await crm.listIoTAlerts();
  const commands = await crm.listCommands();
  return {
    alerts: alerts.length,
    rootAlerts: alerts.filter((a) => a.parentAlertId === undefined).length,
    commands: commands.length,
    acknowledged: commands.filter((c) => c.state === 'acknowledged').length,
  };
}
