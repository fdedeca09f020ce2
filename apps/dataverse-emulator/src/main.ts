import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { startDataverseEmulator } from '@fieldlink/dataverse-emulator';

/**
 * `npm start -w @fieldlink/dataverse-emulator-app -- [--port N] [--database FILE]`: runs the emulator
 * on loopback until Ctrl-C, its service endpoint posting to an in-memory outbound queue.
 */
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const port = Number(arg('port') ?? 0);
const database = arg('database') ?? ':memory:';
// The bearer token to require (any token when unset); from the environment, never the command line.
const accessToken = process.env['FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN'] || undefined;
const outbound = new InMemoryQueue('crm-outbound');
const emulator = await startDataverseEmulator({
  port,
  database,
  outboundQueue: outbound,
  ...(accessToken === undefined ? {} : { accessToken }),
  log: { info: (e, f) => console.log(e, JSON.stringify(f ?? {})), warn: (e, f) => console.warn(e, JSON.stringify(f ?? {})), error: (e, f) => console.error(e, JSON.stringify(f ?? {})) },
});
console.log(`Dataverse emulator: organisation URL ${emulator.url}, Web API ${emulator.webApiUrl}`);
const stop = async (): Promise<void> => {
  await emulator.close();
  await outbound.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
