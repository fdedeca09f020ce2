#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { describeStartOutcome, formatConfigIssues, loadConfig, startHealthOf, TerminalLog } from '@fieldlink/composition';
import { checkAccessSettings, describeFleetError, runFleetLoad, startSimulatorServer } from '@fieldlink/ui-thermostat-simulator';
import { createSimulatorFleet } from './simulator-fleet.js';

const wholeNumber =
  (name: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}".`);
    return n;
  };
const positiveNumber =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number above 0, got "${value}".`);
    return n;
  };

interface SimulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
  readonly config?: string;
  readonly devices?: number;
  readonly idPrefix: string;
  readonly load?: number;
  readonly rate: number;
  readonly duration: number;
  readonly json: boolean;
}

const program = new Command()
  .name('fieldlink-thermostat-simulator')
  .description(
    'Simulated CFS thermostats on the device client port (in-memory hub or a real IoT hub): a web page to watch and steer them, or --load for a headless load of N devices at R messages per second.',
  )
  .option('--host <address>', 'address to bind the page; any address other than loopback requires a token', '127.0.0.1')
  .option('--port <n>', 'port of the page (0: any free port)', wholeNumber('--port', 0, 65_535), 4320)
  .option('--token <token>', 'access token of the page (at least 16 characters); default: FIELDLINK_SIMULATOR_TOKEN')
  .option('--config <file>', 'configuration file (JSON or YAML); default: FIELDLINK_CONFIG')
  .option('--devices <n>', 'thermostats to start with (default: simulator.devices of the configuration)', wholeNumber('--devices', 0, 100_000))
  .option('--id-prefix <text>', 'start of every device id (`<text>1`, `<text>2`, …), e.g. to run two simulators on one hub', 'thermostat-')
  .option('--load <n>', 'headless load mode: N thermostats, no page', wholeNumber('--load', 1, 100_000))
  .option('--rate <r>', 'load mode: messages per second, all devices together', positiveNumber('--rate'), 100)
  .option('--duration <s>', 'load mode: seconds to run (at most 3600)', positiveNumber('--duration'), 60)
  .option('--json', 'log one JSON object per line', false)
  .showHelpAfterError()
  .action(async (options: SimulatorOptions) => {
    const configFile = options.config ?? process.env['FIELDLINK_CONFIG'];
    const config = loadConfig({ env: process.env, ...(configFile === undefined ? {} : { file: configFile }) });
    if (!config.ok) return fail(formatConfigIssues(config.error));
    const json = options.json || config.value.log.format === 'json';
    const log = new TerminalLog(undefined, { json });
    // Devices on the in-memory hub of this process reach no stream processor or orchestrator of another: said once, at start.
    if (config.value.ports.deviceClient === 'in-memory') {
      log.warn('simulator.shares-nothing', {
        message: 'the IoT hub is in memory: these devices share nothing with another process; use profile durable (one data directory) or the IoT Hub adapter',
      });
    }
    if (options.load !== undefined) {
      const created = await createSimulatorFleet(config.value, 0, { log });
      if (!created.ok) return fail(formatConfigIssues(created.error));
      await created.value.registerDevices(Array.from({ length: options.load }, (_, i) => `load-${i + 1}`));
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      const summary = await runFleetLoad(created.value.fleet, {
        devices: options.load,
        messagesPerSecond: options.rate,
        durationMs: options.duration * 1000,
        signal: abort.signal,
        onProgress: (p) => process.stdout.write(`${p.sent} sent, ${p.failed} failed, ${p.achievedPerSecond.toFixed(1)} msg/s\n`),
      });
      await created.value.close();
      if (!summary.ok) return fail(describeFleetError(summary.error));
      const s = summary.value;
      process.stdout.write(
        `load: ${s.devices} devices, ${s.sent} sent, ${s.failed} failed in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.achievedPerSecond.toFixed(1)} msg/s of ${options.rate} asked\n`,
      );
      return;
    }
    // An empty variable is no token, not an empty one.
    const token = options.token ?? (process.env['FIELDLINK_SIMULATOR_TOKEN'] || undefined);
    const access = checkAccessSettings({ host: options.host, ...(token === undefined ? {} : { token }) });
    if (!access.ok) return fail(`${access.error.path}: ${access.error.message}`);
    let ready = false;
    const health = await startHealthOf(
      config.value,
      'thermostat-simulator',
      () => (ready ? { ready: true } : { ready: false, notReady: [{ part: 'simulated-fleet', reason: 'starting' }] }),
      log,
    );
    if (!health.ok) return exitWith(health.error.message);
    const created = await createSimulatorFleet(config.value, options.devices ?? config.value.simulator.devices, { log, idPrefix: options.idPrefix }).catch(
      (error: unknown) => exitWith(describeStartOutcome(config.value, { kind: 'failed', part: 'simulated-fleet', error }, 'fieldlink-thermostat-simulator')),
    );
    if (!created.ok) return fail(formatConfigIssues(created.error));
    const { fleet } = created.value;
    fleet.start();
    const server = await startSimulatorServer({
      fleet,
      host: options.host,
      port: options.port,
      prepareDevice: (deviceId) => created.value.registerDevices([deviceId]),
      ...(token === undefined ? {} : { token }),
      log,
    });
    ready = true;
    if (json) log.info('thermostat-simulator.started', { url: server.url, ...(token === undefined ? {} : { open: 'as ?token=<your token>' }) });
    else process.stdout.write(`Thermostat simulator: ${server.url}${token === undefined ? '' : ' (open it as ?token=<your token>)'}\n`);
    const stop = async (): Promise<void> => {
      ready = false;
      await server.close();
      await created.value.close();
      await health.value?.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  });

/** An adapter that could not start: one line, exit code 1, whatever is still connecting. */
function exitWith(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

function fail(message: string): void {
  process.stderr.write(`fieldlink-thermostat-simulator: ${message}\n`);
  process.exitCode = 2;
}

await program.parseAsync(process.argv);
