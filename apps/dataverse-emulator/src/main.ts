import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { startDataverseEmulator } from '@fieldlink/dataverse-emulator';

/**
 * `npm start -w @fieldlink/dataverse-emulator-app -- [--port N] [--database FILE] [--message-format 1|2|3]`:
 * runs the emulator on loopback until Ctrl-C, its service endpoint posting to an in-memory
 * outbound queue in the given `serviceendpoint.messageformat` (1 Binary XML, 2 Json, 3 Text XML; 2 by default).
 */
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const port = Number(arg('port') ?? 0);
const database = arg('database') ?? ':memory:';
// The bearer token to require (any token when unset); from the environment, never the command line.
const accessToken = process.env['FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN'] || undefined;
const format = Number(arg('message-format') ?? 2);
if (format !== 1 && format !== 2 && format !== 3) {
  console.error(`--message-format must be 1 (Binary XML), 2 (Json) or 3 (Text XML), not ${arg('message-format')}`);
  process.exit(2);
}
const outbound = new InMemoryQueue('crm-outbound');
const emulator = await startDataverseEmulator({
  port,
  database,
  outboundQueue: outbound,
  ...(accessToken === undefined ? {} : { accessToken }),
  serviceEndpointMessageFormat: format,
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
