import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InMemoryQueue } from '@fieldlink/adapter-in-memory';
import { openSqliteFile, SqliteQueue } from '@fieldlink/adapter-sql';
import { startHealthServer, TerminalLog, type HealthServer } from '@fieldlink/composition';
import { startDataverseEmulator, type RunningDataverseEmulator } from '@fieldlink/dataverse-emulator';
import type { MessageQueuePort } from '@fieldlink/ports';

/**
 * `npm start -w @fieldlink/dataverse-emulator-app -- [--port N] [--database FILE] [--data-dir DIR] [--message-format 1|2|3] [--health-port N] [--json]`:
 * runs the emulator on loopback until Ctrl-C, its service endpoint posting in the given
 * `serviceendpoint.messageformat` (1 Binary XML, 2 Json, 3 Text XML; 2 by default).
 * With `--data-dir`, the data directory of the durable profile: the records are kept in its
 * `dataverse.db` (unless `--database` says otherwise) and the service endpoint posts to its durable
 * outbound queue (`queues.db`, queue `outbound`), where an orchestrator on the same directory reads,
 * as a CFS organisation posts to the Service Bus queue its Logic App reads. Without it, the endpoint
 * posts to an in-memory queue no other process can read (said at start).
 * `--health-port` (or FIELDLINK_HEALTH_PORT) serves /healthz and /readyz; `--json` (or
 * FIELDLINK_LOG_FORMAT=json) logs one JSON object per line.
 */
const USAGE = 'Usage: dataverse-emulator [--port N] [--database FILE] [--data-dir DIR] [--message-format 1|2|3] [--health-port N] [--json]\n';

function fail(line: string, code: number): never {
  process.stderr.write(`dataverse-emulator: ${line}\n`);
  process.exit(code);
}

let values: { port?: string; database?: string; 'data-dir'?: string; 'message-format'?: string; 'health-port'?: string; json?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      database: { type: 'string' },
      'data-dir': { type: 'string' },
      'message-format': { type: 'string' },
      'health-port': { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
const portNumber = (name: string, text: string | undefined): number => {
  const n = Number(text ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) fail(`${name} must be a port from 0 to 65535, not ${text}`, 2);
  return n;
};
const port = portNumber('--port', values.port);
const healthPort = portNumber('--health-port (FIELDLINK_HEALTH_PORT)', values['health-port'] ?? (process.env['FIELDLINK_HEALTH_PORT'] || undefined));
const dataDir = values['data-dir'];
if (dataDir !== undefined) mkdirSync(resolve(dataDir), { recursive: true });
const database = values.database ?? (dataDir === undefined ? ':memory:' : join(resolve(dataDir), 'dataverse.db'));
// The bearer token to require (any token when unset); from the environment, never the command line.
const accessToken = process.env['FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN'] || undefined;
const format = Number(values['message-format'] ?? 2);
if (format !== 1 && format !== 2 && format !== 3) fail(`--message-format must be 1 (Binary XML), 2 (Json) or 3 (Text XML), not ${values['message-format']}`, 2);
const json = values.json === true || process.env['FIELDLINK_LOG_FORMAT'] === 'json';
const log = new TerminalLog(undefined, { json, colors: process.stdout.isTTY === true });

const running: { emulator?: RunningDataverseEmulator } = {};
let health: HealthServer | undefined;
if (healthPort > 0) {
  health = await startHealthServer({
    service: 'dataverse-emulator',
    port: healthPort,
    readiness: () => (running.emulator === undefined ? { ready: false, notReady: [{ part: 'web-api', reason: 'starting' }] } : { ready: true }),
  }).catch((e: unknown) =>
    fail(
      `the health endpoints could not listen on 127.0.0.1:${healthPort} (${(e as { code?: string }).code ?? (e as Error).message}); give --health-port a free port`,
      1,
    ),
  );
  log.info('dataverse-emulator.health', { healthz: `${health.url}/healthz`, readyz: `${health.url}/readyz` });
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
  log,
}).catch((e: unknown) => fail(`could not start on 127.0.0.1:${port} with database ${database}: ${(e as Error).message.split('\n')[0]}`, 1));
running.emulator = emulator;
if (json) log.info('dataverse-emulator.started', { url: emulator.url, webApi: emulator.webApiUrl });
else process.stdout.write(`Dataverse emulator: organisation URL ${emulator.url}, Web API ${emulator.webApiUrl}\n`);
const endpointLine =
  queueFile === undefined
    ? 'Service endpoint: an in-memory queue of this process; it shares nothing with an orchestrator (use --data-dir for the durable outbound queue)'
    : `Service endpoint: the durable outbound queue of ${resolve(dataDir!)}; records in ${database}`;
if (json) log.info('dataverse-emulator.service-endpoint', { message: endpointLine });
else process.stdout.write(`${endpointLine}\n`);
const stop = async (): Promise<void> => {
  await emulator.close();
  await outbound.close();
  queueFile?.close();
  await health?.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
