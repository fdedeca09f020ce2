import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { openSqliteFile, SqliteQueue } from '@fieldlink/adapter-sql';
import { startDataverseEmulator } from '@fieldlink/dataverse-emulator';
import type { MessageQueuePort } from '@fieldlink/ports';

/**
 * `npm start -w @fieldlink/dataverse-emulator-app -- [--port N] [--database FILE] [--data-dir DIR] [--message-format 1|2|3]`:
 * runs the emulator on loopback until Ctrl-C, its service endpoint posting in the given
 * `serviceendpoint.messageformat` (1 Binary XML, 2 Json, 3 Text XML; 2 by default).
 * With `--data-dir`, the data directory of the durable profile: the records are kept in its
 * `dataverse.db` (unless `--database` says otherwise) and the service endpoint posts to its durable
 * outbound queue (`queues.db`, queue `outbound`), where an orchestrator on the same directory reads,
 * as a CFS organisation posts to the Service Bus queue its Logic App reads. Without it, the endpoint
 * posts to an in-memory queue no other process can read (said at start).
 */
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const port = Number(arg('port') ?? 0);
const dataDir = arg('data-dir');
if (dataDir !== undefined) mkdirSync(resolve(dataDir), { recursive: true });
const database = arg('database') ?? (dataDir === undefined ? ':memory:' : join(resolve(dataDir), 'dataverse.db'));
// The bearer token to require (any token when unset); from the environment, never the command line.
const accessToken = process.env['FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN'] || undefined;
const format = Number(arg('message-format') ?? 2);
if (format !== 1 && format !== 2 && format !== 3) {
  console.error(`--message-format must be 1 (Binary XML), 2 (Json) or 3 (Text XML), not ${arg('message-format')}`);
  process.exit(2);
}
// The same file and queue name as the durable profile's outbound queue (see DATA_FILES of the composition).
const queueFile = dataDir === undefined ? undefined : openSqliteFile(join(resolve(dataDir), 'queues.db'));
const outbound: MessageQueuePort = queueFile === undefined ? new InMemoryQueue('crm-outbound') : new SqliteQueue(queueFile, 'outbound');
const emulator = await startDataverseEmulator({
  port,
  database,
  outboundQueue: outbound,
  ...(accessToken === undefined ? {} : { accessToken }),
  serviceEndpointMessageFormat: format,
  log: { info: (e, f) => console.log(e, JSON.stringify(f ?? {})), warn: (e, f) => console.warn(e, JSON.stringify(f ?? {})), error: (e, f) => console.error(e, JSON.stringify(f ?? {})) },
});
console.log(`Dataverse emulator: organisation URL ${emulator.url}, Web API ${emulator.webApiUrl}`);
console.log(
  queueFile === undefined
    ? 'Service endpoint: an in-memory queue of this process; it shares nothing with an orchestrator (use --data-dir for the durable outbound queue)'
    : `Service endpoint: the durable outbound queue of ${resolve(dataDir!)}; records in ${database}`,
);
const stop = async (): Promise<void> => {
  await emulator.close();
  await outbound.close();
  queueFile?.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
