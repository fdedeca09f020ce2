import { formatDoctor, runDoctor } from '@fieldlink/composition';
import { configFromOptions } from '../config-options.js';

/**
 * `fieldlink doctor`: checks the configuration in force against the services it names and prints
 * one line per problem. Exit code 0 when all is well, 1 on a problem, 2 on a wrong configuration.
 */
export async function runDoctorCommand(options: { readonly config?: string }): Promise<number> {
  const config = configFromOptions(options.config, {}, process.env);
  const checks = await runDoctor(config);
  process.stdout.write(`${formatDoctor(checks)}\n`);
  return checks.some((c) => c.problems.length > 0) ? 1 : 0;
}
