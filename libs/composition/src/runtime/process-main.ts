import { parseArgs } from 'node:util';
import { err, ok, type CodedError, type Result } from '@fieldlink/domain';
import { CONFIG_FILE_ENV, envNameOf } from '../config/config-settings.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import { formatConfigIssues, loadConfig, type ConfigIssue } from '../config/load-config.js';
import { TerminalLog } from '../log/terminal-log.js';
import { describeStartOutcome, signalExitCode, startWithin, stopSignals, type StartOutcome } from './startup.js';
import type { FieldlinkRuntime, RuntimeOptions } from './fieldlink-runtime.js';
import { readinessOf, startHealthServer, type HealthServer, type Readiness } from './health-server.js';

export interface ProcessMainOptions {
  /** `stream-processor`, `orchestrator`: names the log events. */
  readonly name: string;
  readonly create: (config: FieldlinkConfig, options: RuntimeOptions) => Promise<Result<FieldlinkRuntime, ConfigIssue[]>>;
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

const USAGE = (name: string): string =>
  `Usage: ${name} [--config <file>]\n\nReads one configuration document (--config or ${CONFIG_FILE_ENV}; JSON or YAML), overridden by FIELDLINK_* environment variables, and runs until SIGINT or SIGTERM.\n`;

/**
 * The whole of a service's main: read the configuration (`--config <file>` and the environment),
 * refuse a wrong one with every issue and exit code 2, start, and stop cleanly on SIGINT or
 * SIGTERM (exit code 0). Returns the exit code.
 */
export async function runProcessMain(options: ProcessMainOptions): Promise<number> {
  const env = options.env ?? process.env;
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...(options.argv ?? process.argv.slice(2))],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help === true) {
      process.stdout.write(USAGE(options.name));
      return 0;
    }
    file = values.config ?? env[CONFIG_FILE_ENV];
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE(options.name)}`);
    return 2;
  }
  const loaded = loadConfig({ ...(file === undefined || file === '' ? {} : { file }), env });
  if (!loaded.ok) {
    process.stderr.write(`${formatConfigIssues(loaded.error)}\n${options.name} did not start.\n`);
    return 2;
  }
  const config = loaded.value;
  const log = new TerminalLog(undefined, { json: config.log.format === 'json', colors: process.stdout.isTTY === true });
  // Listen before anything connects: a signal while the adapters are built or the parts start stops at once.
  const stop = stopSignals();
  const startup = { timeoutMs: config.startup.timeoutMs, stopRequested: stop.requested };
  let created: Result<FieldlinkRuntime, ConfigIssue[]> | undefined;
  // Up before anything connects: alive at once, ready once every part started.
  const health = await startHealthOf(
    config,
    options.name,
    readinessOf(() => (created?.ok === true ? created.value : undefined)),
    log,
  );
  if (!health.ok) {
    stop.dispose();
    process.stderr.write(`${health.error.message}\n`);
    return 1;
  }
  const built = await startWithin(
    async () => void (created = await options.create(config, { log })),
    () => 'adapters',
    startup,
  );
  if (built.kind !== 'started') return aborted(config, built, options.name, undefined, health.value);
  if (!created!.ok) {
    stop.dispose();
    await health.value?.close();
    process.stderr.write(`${formatConfigIssues(created!.error)}\n${options.name} did not start.\n`);
    return 2;
  }
  const runtime = created!.value;
  const started = await startWithin(
    () => runtime.start(),
    () => runtime.starting,
    {
      ...startup,
      onWaiting: (part, elapsedMs) =>
        log.info(`${options.name}.still-starting`, { part: part ?? 'unknown', waitedS: Math.round(elapsedMs / 1000), limitMs: config.startup.timeoutMs }),
    },
  );
  if (started.kind !== 'started') return aborted(config, started, options.name, runtime, health.value);
  log.info(`${options.name}.started`, {
    profile: config.profile,
    ports: Object.entries(config.ports)
      .map(([p, a]) => `${p}=${a}`)
      .join(','),
    stop: 'SIGINT or SIGTERM',
  });
  // A service on its own over in-memory adapters only meets no other process: said once, at start.
  if (Object.values(config.ports).every((adapter) => adapter === 'in-memory')) {
    log.warn(`${options.name}.shares-nothing`, {
      message:
        'every port is in memory: this process shares no queue, store or CRM with another; use profile durable (one data directory) or the Azure adapters to run the services as separate processes',
    });
  }
  await stop.requested;
  log.info(`${options.name}.stopping`);
  await runtime.stop();
  await health.value?.close();
  log.info(`${options.name}.stopped`);
  return 0;
}

/** The health endpoints could not listen on their port; the message names the port and the setting. */
export type HealthStartError = CodedError<'HealthPortUnavailable'>;

/**
 * The health endpoints when `health.port` asks for them (none on 0). A port that cannot be had is
 * one line naming it and the setting, and the service does not start.
 */
export async function startHealthOf(
  config: FieldlinkConfig,
  service: string,
  readiness: () => Readiness,
  log?: TerminalLog,
): Promise<Result<HealthServer | undefined, HealthStartError>> {
  if (config.health.port === 0) return ok(undefined);
  try {
    const server = await startHealthServer({ service, host: config.health.host, port: config.health.port, readiness });
    log?.info(`${service}.health`, { healthz: `${server.url}/healthz`, readyz: `${server.url}/readyz` });
    return ok(server);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return err({
      code: 'HealthPortUnavailable',
      message: `${service}: the health endpoints could not listen on ${config.health.host}:${config.health.port}${typeof code === 'string' ? ` (${code})` : ''}; set health.port (${envNameOf('health.port')}) to a free port, or 0 for none`,
      cause: e,
    });
  }
}

/** A start-up that did not finish: one line, a brief stop of what started, and the exit code (128 + signal, or 1). */
async function aborted(
  config: FieldlinkConfig,
  outcome: Exclude<StartOutcome, { kind: 'started' }>,
  name: string,
  runtime: FieldlinkRuntime | undefined,
  health: HealthServer | undefined,
): Promise<number> {
  process.stderr.write(`${describeStartOutcome(config, outcome, name)}\n`);
  if (runtime !== undefined) await Promise.race([runtime.stop().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
  await health?.close();
  return outcome.kind === 'signal' ? signalExitCode(outcome.signal) : 1;
}

/** Resolves on the first SIGINT or SIGTERM; keeps the process alive until then, even when nothing else is pending. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stop = (): void => {
      clearInterval(keepAlive);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
