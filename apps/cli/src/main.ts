#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';

// The package's own manifest: one level up both from src/main.ts and from the built dist/main.js.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const wholeNumber =
  (name: string, min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number of at least ${min}, got "${value}".`);
    return n;
  };

const program = new Command()
  .name('fieldlink')
  .version(version, '-V, --version', 'print the version of fieldlink')
  .description('Connect IoT devices to field service: the Connected Field Service loop, on one laptop or against Azure and Dynamics 365.')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Commands:
  up            the whole loop in this process, with a simulated fleet and the two web pages
  rules test    run device rules offline over recorded telemetry
  replay        push recorded telemetry through the whole in-memory pipeline and print the CRM's alerts

Examples:
  $ fieldlink up                                   # durable default: state kept under .fieldlink, 10 thermostats
  $ fieldlink up --devices 50 --drifting 3 --no-web
  $ fieldlink rules test --rules apps/cli/examples/devicerules.json --telemetry apps/cli/examples/telemetry.sample.jsonl

Configuration: one document (--config <file>, JSON or YAML, or FIELDLINK_CONFIG), overridden by
FIELDLINK_* environment variables, overridden by options. Secrets come from the environment only.
Every setting is listed in apps/cli/README.md.`,
  );

program
  .command('up')
  .description(
    'Run the whole loop in this process until Ctrl-C: simulated thermostats → hub → stream processor (rules) → alerts queue → orchestrator → CRM alert → rules framework → Set Values → the device answers. Each step is logged with the correlation id of the reading that started it.',
  )
  .option('-c, --config <file>', 'configuration file (JSON, or YAML by extension)')
  .addOption(
    new Option('--profile <profile>', 'adapters for every port: durable (the default: state kept under --data-dir), embedded (in memory) or azure').choices([
      'durable',
      'embedded',
      'azure',
    ]),
  )
  .option(
    '--data-dir <dir>',
    'where the state is kept: SQLite files of the queues, status store, rule state and the Dataverse emulator (default .fieldlink in the working directory)',
  )
  .option('--ephemeral', 'keep nothing: every port in memory, as profile embedded', false)
  .addOption(
    new Option('--crm <adapter>', 'the CRM: in-memory, or dataverse (the Dataverse emulator in this process, or the organisation at dataverse.url)').choices([
      'in-memory',
      'dataverse',
    ]),
  )
  .option('--devices <n>', 'simulated thermostats (default 10)', wholeNumber('--devices', 0))
  .option('--drifting <n>', 'how many of them drift over the threshold (default 1)', wholeNumber('--drifting', 0))
  .option('--interval <ms>', 'milliseconds between two readings of one thermostat (default 1000)', wholeNumber('--interval', 10))
  .option('--no-web', 'do not serve the thermostat simulator and console pages')
  .option('--json', 'one JSON object per line (every event) instead of text', false)
  .option('--verbose', 'also show bookkeeping (registrations, retries that heal themselves)', false)
  .option('--show-config', 'print the configuration in force (secrets redacted) first', false)
  .option(
    '--startup-timeout <ms>',
    'give up with an error naming what is still starting after this many milliseconds (default 60000; 0: wait for ever)',
    wholeNumber('--startup-timeout', 0),
  )
  .option('--health-port <n>', 'serve /healthz and /readyz on 127.0.0.1 at this port (health.port; default 0: none)', wholeNumber('--health-port', 0))
  .addHelpText(
    'after',
    `
Examples:
  $ fieldlink up
  $ fieldlink up --data-dir /var/lib/fieldlink
  $ fieldlink up --ephemeral
  $ fieldlink up --devices 3 --drifting 1 --interval 500 --no-web
  $ fieldlink up --json > run.jsonl
  $ fieldlink up --crm dataverse
  $ fieldlink up --config apps/cli/examples/fieldlink.config.example.json --show-config
  $ FIELDLINK_SIMULATOR_DEVICES=25 fieldlink up`,
  )
  .action(
    async (opts: {
      config?: string;
      profile?: 'embedded' | 'durable' | 'azure';
      dataDir?: string;
      ephemeral: boolean;
      crm?: 'in-memory' | 'dataverse';
      devices?: number;
      drifting?: number;
      interval?: number;
      web: boolean;
      json: boolean;
      verbose: boolean;
      showConfig: boolean;
      startupTimeout?: number;
      healthPort?: number;
    }) => {
      // Loaded on use: `--help` and `rules test` need none of the stack.
      const { runUp } = await import('./commands/up.js');
      await runUp(opts);
    },
  );

program
  .command('doctor')
  .description(
    'Check the configuration against the services it names: each is reachable, accepts the credentials, and has the queues, consumer groups and containers Fieldlink needs; Dataverse answers WhoAmI. Prints one line per problem; exit code 1 on a problem, 2 on a wrong configuration.',
  )
  .option('-c, --config <file>', 'configuration file (JSON, or YAML by extension); default: FIELDLINK_CONFIG')
  .addHelpText(
    'after',
    `
Examples:
  $ fieldlink doctor --config fieldlink.azure.yaml
  $ FIELDLINK_PROFILE=azure fieldlink doctor`,
  )
  .action(async (opts: { config?: string }) => {
    const { runDoctorCommand } = await import('./commands/doctor.js');
    // Exits with the code even while a client's connection is still closing.
    process.exit(await runDoctorCommand(opts));
  });

/** The options `rules test` and `replay` share: the rules, the recording, and how bad lines are reported. */
function withRecordingOptions(command: Command, rulesFile: string): Command {
  return command
    .requiredOption('--rules <file>', rulesFile)
    .requiredOption('--telemetry <file>', 'recorded telemetry, JSON Lines')
    .option('--device-type <type>', 'device type of the devices in the recording', 'Thermostat')
    .option('--json', 'print the result as JSON instead of a table', false)
    .option('--max-bad-lines <n>', 'bad line issues to print on stderr and keep in --json (all bad lines are counted)', wholeNumber('--max-bad-lines', 0), 20)
    .option(
      '--max-line-bytes <n>',
      'a longer line is reported as bad and skipped (IoT Hub messages are at most 256 KB)',
      wholeNumber('--max-line-bytes', 1),
      1024 * 1024,
    );
}

const rules = program.command('rules').description('Work with device rules offline, without any service.');
withRecordingOptions(rules.command('test'), 'CFS devicerules.json or a native rule document (JSON, or YAML by extension)')
  .description(
    'Run rules over recorded telemetry (JSON Lines, one device message per line with its EventEnqueuedUtcTime, as a Stream Analytics sample input) and print the alerts they raise. The rules file is a CFS devicerules.json (an array; behaves exactly as the CFS alert query) or a native rule document (an object with "version": 1).',
  )
  .addHelpText(
    'after',
    `
Each line: {"DeviceID":"thermostat-1","Temperature":86.0,"Humidity":41.0,"EventToken":"<guid>","EventEnqueuedUtcTime":"2026-11-28T09:15:02.113Z"}
A bad line is reported on stderr with its number and field, counted, and skipped. Long runs show progress on stderr.

Examples:
  $ fieldlink rules test --rules apps/cli/examples/devicerules.json --telemetry apps/cli/examples/telemetry.sample.jsonl
  $ fieldlink rules test --rules apps/cli/examples/rules.native.json --telemetry apps/cli/examples/telemetry.sample.jsonl --json`,
  )
  .action(async (opts: { rules: string; telemetry: string; deviceType: string; json: boolean; maxBadLines: number; maxLineBytes: number }) => {
    const { runRulesTest } = await import('./commands/rules-test.js');
    process.exitCode = await runRulesTest(opts);
  });

withRecordingOptions(program.command('replay'), 'CFS devicerules.json (JSON, or YAML by extension)')
  .description(
    'Push recorded telemetry (the JSON Lines of `rules test`, each line entering the hub with its EventEnqueuedUtcTime) through the whole pipeline of the embedded default: the in-memory hub, the stream processor, the alerts queue, the orchestrator and the in-memory CRM. Once everything is drained, prints the IoT alert records created. The rules file is a CFS devicerules.json, as the stream processor reads.',
  )
  .addHelpText(
    'after',
    `
Prints, per IoT alert record: time, device, reading type, reading, event token, and the parent alert's token for a child alert.
Bad lines are reported on stderr as \`rules test\` reports them, and skipped.

Examples:
  $ fieldlink replay --rules apps/cli/examples/devicerules.json --telemetry apps/cli/examples/telemetry.sample.jsonl
  $ fieldlink replay --rules apps/cli/examples/devicerules.json --telemetry apps/cli/examples/telemetry.sample.jsonl --json`,
  )
  .action(async (opts: { rules: string; telemetry: string; deviceType: string; json: boolean; maxBadLines: number; maxLineBytes: number }) => {
    const { runReplay } = await import('./commands/replay.js');
    process.exitCode = await runReplay(opts);
  });

await program.parseAsync(process.argv);
