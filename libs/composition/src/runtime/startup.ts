import { envNameOf } from '../config/config-settings.js';
import type { FieldlinkConfig } from '../config/fieldlink-config.js';
import { endpointOfConnectionString, redactUrl } from '../config/redact-url.js';
import { PartStartError } from './fieldlink-runtime.js';

/** How a start-up ended: started, stopped by a signal, out of time, or failed in a part. */
export type StartOutcome =
  | { readonly kind: 'started' }
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'timed-out'; readonly waitingFor: string | undefined }
  | { readonly kind: 'failed'; readonly part: string | undefined; readonly error: unknown };

export interface StartupOptions {
  /** 0: no limit. */
  readonly timeoutMs: number;
  /** Resolves with the signal that asks to stop (see stopSignals). */
  readonly stopRequested: Promise<NodeJS.Signals>;
  /** Called every `progressEveryMs` while start-up runs, with the part it is waiting for. */
  readonly onWaiting?: (waitingFor: string | undefined, elapsedMs: number) => void;
  readonly progressEveryMs?: number;
}

/**
 * Runs a start-up against a stop signal and a deadline, whichever comes first. The start itself
 * is not awaited past that point: a connection that hangs cannot hold the process.
 */
export async function startWithin(start: () => Promise<void>, waitingFor: () => string | undefined, options: StartupOptions): Promise<StartOutcome> {
  const began = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const outcome = await Promise.race<StartOutcome>([
    start().then(
      (): StartOutcome => ({ kind: 'started' }),
      (error: unknown): StartOutcome => ({
        kind: 'failed',
        part: error instanceof PartStartError ? error.part : waitingFor(),
        error: error instanceof PartStartError ? error.cause : error,
      }),
    ),
    options.stopRequested.then((signal): StartOutcome => ({ kind: 'signal', signal })),
    new Promise<StartOutcome>((resolve) => {
      if (options.timeoutMs > 0) timers.push(setTimeout(() => resolve({ kind: 'timed-out', waitingFor: waitingFor() }), options.timeoutMs));
      if (options.onWaiting !== undefined)
        timers.push(setInterval(() => options.onWaiting!(waitingFor(), Date.now() - began), options.progressEveryMs ?? 5_000));
    }),
  ]);
  for (const t of timers) clearTimeout(t);
  return outcome;
}

/** Resolves with the first SIGINT or SIGTERM; `dispose` takes the listeners away. */
export function stopSignals(): { readonly requested: Promise<NodeJS.Signals>; dispose(): void } {
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    stop = (signal) => {
      dispose();
      resolve(signal);
    };
  });
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const onInt = (): void => stop('SIGINT');
  const onTerm = (): void => stop('SIGTERM');
  const dispose = (): void => {
    clearInterval(keepAlive);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return { requested, dispose };
}

/** The exit code of a process stopped by a signal: 128 + its number, as a shell reports it. */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1);

interface Endpoint {
  /** Where it connects (user info and keys never shown). */
  readonly endpoint: string;
  /** The setting that says so. */
  readonly setting: string;
}

/** The services each part of a runtime connects to when it starts, from the configuration. */
function endpointsOf(config: FieldlinkConfig, part: string | undefined): Endpoint[] {
  const connection = (
    path: 'serviceBus.connectionString' | 'eventHubs.connectionString' | 'iotHub.connectionString' | 'blob.connectionString',
    value: string | undefined,
  ): Endpoint[] =>
    value === undefined ? [] : [{ endpoint: endpointOfConnectionString(value) ?? '(an endpoint the connection string does not name)', setting: path }];
  const dataverse = (): Endpoint[] =>
    config.ports.crm !== 'dataverse' ? [] : config.dataverse.embedded ? [] : [{ endpoint: redactUrl(config.dataverse.url ?? ''), setting: 'dataverse.url' }];
  const eventHubs = (): Endpoint[] =>
    config.ports.telemetry === 'event-hubs'
      ? [...connection('eventHubs.connectionString', config.eventHubs.connectionString), ...connection('blob.connectionString', config.blob.connectionString)]
      : [];
  const serviceBus = (port: 'alertsQueue' | 'outboundQueue'): Endpoint[] =>
    config.ports[port] === 'service-bus' ? connection('serviceBus.connectionString', config.serviceBus.connectionString) : [];
  const iotHub = (...ports: Array<'deviceRegistry' | 'cloudToDevice' | 'deviceClient'>): Endpoint[] =>
    ports.some((p) => config.ports[p] === 'iot-hub') ? connection('iotHub.connectionString', config.iotHub.connectionString) : [];
  switch (part) {
    case 'telemetry-ingest':
    case 'command-acknowledgements':
      return eventHubs();
    case 'inbound-alerts':
      return [...serviceBus('alertsQueue'), ...dataverse()];
    case 'outbound-messages':
      return [...serviceBus('outboundQueue'), ...iotHub('deviceRegistry', 'cloudToDevice')];
    case 'command-feedback':
      return iotHub('cloudToDevice');
    case 'simulated-fleet':
      return [...dataverse(), ...iotHub('deviceRegistry', 'deviceClient')];
    default:
      return [
        ...dataverse(),
        ...eventHubs(),
        ...serviceBus('alertsQueue'),
        ...serviceBus('outboundQueue'),
        ...iotHub('deviceRegistry', 'cloudToDevice', 'deviceClient'),
      ];
  }
}

const unique = (endpoints: Endpoint[]): Endpoint[] =>
  endpoints.filter((e, i) => endpoints.findIndex((o) => o.endpoint === e.endpoint && o.setting === e.setting) === i);

const describeEndpoints = (endpoints: Endpoint[]): string =>
  endpoints.length === 0
    ? ''
    : `; check ${unique(endpoints)
        .map((e) => `${e.endpoint} (${e.setting}, ${envNameOf(e.setting)})`)
        .join(' and ')}`;

/** The endpoints a part connects to, for a progress line: `https://hub… (iotHub.connectionString)`; empty when none. */
export function endpointsToCheck(config: FieldlinkConfig, part: string | undefined): string {
  return unique(endpointsOf(config, part))
    .map((e) => `${e.endpoint} (${e.setting})`)
    .join(' and ');
}

/** The first line of an error's message, its keys and passwords taken out. */
function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  // The SDK's own code (an AzureAdapterError's sdkCode) says more than the adapter's union does.
  const code = (error as { sdkCode?: unknown } | undefined)?.sdkCode ?? (error as { code?: unknown } | undefined)?.code;
  const first = redactUrl(text.split('\n')[0]!.replace(/(SharedAccessKey|AccountKey|sig|SharedAccessSignature)=[^;&\s]+/gi, '$1=[redacted]'));
  return typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first;
}

/** One line for a start-up that did not finish: what was being started, why, and which endpoint and setting to check. */
export function describeStartOutcome(config: FieldlinkConfig, outcome: Exclude<StartOutcome, { kind: 'started' }>, name: string): string {
  switch (outcome.kind) {
    case 'signal':
      return `${name}: stopped by ${outcome.signal} while starting`;
    case 'timed-out':
      return `${name}: did not start within ${config.startup.timeoutMs} ms${outcome.waitingFor === undefined ? '' : ` (still starting ${outcome.waitingFor})`}${describeEndpoints(endpointsOf(config, outcome.waitingFor))}; the limit is startup.timeoutMs (${envNameOf('startup.timeoutMs')})`;
    case 'failed':
      return `${name}: ${outcome.part ?? 'start-up'} could not start: ${reasonOf(outcome.error)}${describeEndpoints(endpointsOf(config, outcome.part))}`;
  }
}
