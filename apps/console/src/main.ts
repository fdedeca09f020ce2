#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { formatConfigIssues, loadConfig, startHealthOf, TerminalLog } from '@fieldlink/composition';
import { checkAccessSettings, startConsoleServer } from '@fieldlink/ui-console';
import { createConsoleServices } from './console-services.js';

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  return n;
};

interface ConsoleOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
  readonly config?: string;
  readonly json: boolean;
}

const program = new Command()
  .name('fieldlink-console')
  .description(
    'The field-service console (devices, per-minute charts, alerts and their actions, commands, registration) over the CRM and status store the stream processor and the orchestrator write, until Ctrl-C. It runs neither of them itself.',
  )
  .option('--host <address>', 'address to bind; any address other than loopback requires a token', '127.0.0.1')
  .option('--port <n>', 'port to listen on (0: any free port)', port, 4310)
  .option('--token <token>', 'access token (at least 16 characters); default: FIELDLINK_CONSOLE_TOKEN')
  .option('--config <file>', 'configuration file (JSON or YAML); default: FIELDLINK_CONFIG')
  .option('--json', 'log one JSON object per line', false)
  .showHelpAfterError()
  .action(async (options: ConsoleOptions) => {
    // An empty variable is no token, not an empty one.
    const token = options.token ?? (process.env['FIELDLINK_CONSOLE_TOKEN'] || undefined);
    const access = checkAccessSettings({ host: options.host, ...(token === undefined ? {} : { token }) });
    if (!access.ok) return fail(`${access.error.path}: ${access.error.message}`);
    const configFile = options.config ?? process.env['FIELDLINK_CONFIG'];
    const config = loadConfig({ env: process.env, ...(configFile === undefined ? {} : { file: configFile }) });
    if (!config.ok) return fail(formatConfigIssues(config.error));
    const json = options.json || config.value.log.format === 'json';
    const log = new TerminalLog(undefined, { json });
    let ready = false;
    const health = await startHealthOf(
      config.value,
      'console',
      () => (ready ? { ready: true } : { ready: false, notReady: [{ part: 'crm and status store', reason: 'connecting' }] }),
      log,
    );
    if (!health.ok) return exitWith(health.error.message);
    const created = await createConsoleServices(config.value, { log });
    if (!created.ok) {
      await health.value?.close();
      return fail(formatConfigIssues(created.error));
    }
    const standalone = created.value;
    // A console over in-memory adapters reads its own empty CRM and store: said once, at start.
    if (standalone.sharesNothing) {
      log.warn('console.shares-nothing', {
        message:
          'the CRM and the status store are in memory: this console shares nothing with the stream processor or the orchestrator; use profile durable (one data directory, dataverse.url of the emulator) or the Azure adapters',
      });
    }
    const server = await startConsoleServer({ ...standalone.services, host: options.host, port: options.port, ...(token === undefined ? {} : { token }) });
    ready = true;
    if (json) log.info('console.started', { url: server.url, ...(token === undefined ? {} : { open: 'as ?token=<your token>' }) });
    else process.stdout.write(`Console: ${server.url}${token === undefined ? '' : ' (open it as ?token=<your token>)'}\n`);
    const stop = async (): Promise<void> => {
      await server.close();
      await standalone.close();
      await health.value?.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  });

/** An adapter or a port that could not start: one line, exit code 1, whatever is still connecting. */
function exitWith(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

function fail(message: string): void {
  process.stderr.write(`fieldlink-console: ${message}\n`);
  process.exitCode = 2;
}

await program.parseAsync(process.argv);
