#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { runUp } from './commands/up.js';

const positiveInt = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got "${value}".`);
  return n;
};

const program = new Command()
  .name('fieldlink')
  .description('Connect IoT devices to field service: the Connected Field Service loop, locally or against Azure and Dynamics 365.')
  .showHelpAfterError();

program
  .command('up')
  .description('Run the whole loop in this process on the embedded default (in-memory adapters) with a simulated fleet of thermostats, until Ctrl-C.')
  .option('--devices <n>', 'how many simulated thermostats', positiveInt('--devices'), 10)
  .option('--drifting <n>', 'how many of them drift over the threshold', (v) => Number(v), 1)
  .option('--interval <ms>', 'milliseconds between two readings of one device', positiveInt('--interval'), 1000)
  .option('--json', 'log one JSON object per line instead of text', false)
  .action(async (opts: { devices: number; drifting: number; interval: number; json: boolean }) => {
    await runUp(opts);
  });

await program.parseAsync(process.argv);
