import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceBusQueue } from '@fieldlink/adapter-azure';
import { startLocalAzureStack, type RunningLocalAzureStack, CFS_THERMOSTAT_RULE } from '@fieldlink/azure-stack';
import { evaluatorOf } from '@fieldlink/flows';
import { between, pick, seededRandom } from '@fieldlink/domain/testing';
import { ServiceProcess } from './service-process.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface SystemRunOptions {
  readonly seed: number;
  /** How long faults are injected and readings pushed over the threshold. */
  readonly faultWindowMs: number;
  /**
   * The bound within which the system must be quiet after the last fault; by default computed
   * from the waits a fault can leave behind (see `quietBound`) and printed with its parts.
   */
  readonly quietBoundMs?: number;
  readonly devices: number;
  readonly write?: (line: string) => void;
}

export const FAULT_KINDS = [
  'kill-stream-processor',
  'kill-orchestrator',
  'drop-service-bus',
  'drop-event-hubs',
  'drop-iot-hub',
  'service-bus-server-busy',
  'dataverse-unavailable',
  'delay-service-bus',
  'delay-event-hubs',
  'redeliver-locked',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The stack's settings that bound recovery: a message or partition held by what a fault hit is free again after these. */
const SERVICE_BUS_LOCK_MS = 30_000;
const HUB_LOCK_MS = 10_000;
/** The composition's Event Hubs load balancing: a dead owner's partitions are taken after the ownership expires. */
const PARTITION_OWNERSHIP_EXPIRY_MS = 20_000;
/** The Dynamics adapter's longest back-off between retries (503, time-outs). */
const DATAVERSE_MAX_BACKOFF_MS = 30_000;
/** The queue processor's longest hold before an abandon. */
const ABANDON_MAX_BACKOFF_MS = 10_000;
/** Room to work off what queued up during the faults. */
const DRAIN_ALLOWANCE_MS = 60_000;
/** The longest a fault of ours lasts (server-busy, 503 and delay windows). */
const FAULT_WINDOW_MAX_MS = 8_000;

export interface SystemReport {
  readonly seed: number;
  readonly readings: number;
  readonly faults: Record<string, number>;
  readonly dataverseThrottled: number;
  readonly dataverseUnavailable: number;
  readonly serverBusyRefusals: number;
  /** What the quiet bound was made of, and the bound. */
  readonly quietBound: { readonly ms: number; readonly parts: string };
  /** The console's view at the end: alerts and commands it shows, against what the CRM holds. */
  readonly console: { readonly alertsShown: number; readonly commandsShown: number; readonly problems: string[] };
  readonly alerts: {
    readonly expected: number;
    readonly created: number;
    readonly duplicated: number;
    readonly missing: string[];
    readonly unexpected: string[];
  };
  readonly commands: Record<string, number>;
  readonly commandsNotTerminal: string[];
  readonly commandsAppliedTwice: string[];
  readonly deadLetters: {
    readonly injected: string[];
    readonly found: Array<{ messageId: string; reason: string }>;
    readonly unexpected: string[];
    readonly missing: string[];
    readonly withoutReason: string[];
  };
  readonly recoveryMs: number | undefined;
  readonly latencyMs: { readonly p50: number; readonly p99: number } | undefined;
  readonly failures: string[];
}

const TERMINAL = new Set(['acknowledged', 'expired', 'rejected', 'failed']);

/**
 * The system on the Azure profile as separate OS processes against the local Azure stack: two
 * stream processors, two orchestrators (with the demo rules framework: an alert sends Set Values)
 * and the thermostat simulator; devices are pushed over the threshold at seeded times, malformed
 * messages are put on the alerts queue, and faults hit on a seeded schedule. Expected alerts come
 * from the offline CFS query over every event the hub holds (the reference the stream processor
 * agrees with), so the check is exact: each once in the CRM, none else.
 */
export async function runSystem(options: SystemRunOptions): Promise<SystemReport> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const random = seededRandom(options.seed);
  const dir = await mkdtemp(join(tmpdir(), 'fieldlink-system-'));
  write(`system test: seed ${options.seed} (replay: npm run test:system -- --seed ${options.seed}); logs in ${dir}`);
  // Dataverse answers 429 (with Retry-After) past 40 requests a second: service protection as a fault that is always there.
  const stack = await startLocalAzureStack({
    dir,
    partitionCount: 4,
    hub: { lockTimeoutMs: HUB_LOCK_MS },
    queueSettings: { lockDurationMs: SERVICE_BUS_LOCK_MS },
    dataverseLimits: { maxRequests: 40, windowMs: 1_000 },
  });
  const processes: ServiceProcess[] = [];
  try {
    // The test's own settings (FIELDLINK_SYSTEM_SEED) are not the services': their configuration refuses unknown FIELDLINK_ variables.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FIELDLINK_SYSTEM_')));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      ...stack.settings.env,
      FIELDLINK_CONFIG: stack.configFile,
      FIELDLINK_AUTOMATION_FILE: join(root, 'apps/cli/examples/automation.demo.yaml'),
      FIELDLINK_LOG_FORMAT: 'json',
      FIELDLINK_COMMANDS_SWEEP_INTERVAL_MS: '2000',
      FIELDLINK_SERVICE_BUS_MAX_CONCURRENT_CALLS: '8',
      // A loaded CI machine starts a dozen Node processes slowly.
      FIELDLINK_STARTUP_TIMEOUT_MS: '240000',
      FIELDLINK_SIMULATOR_DRIFTING: '0',
      FIELDLINK_SIMULATOR_INTERVAL_MS: '1000',
      FIELDLINK_SIMULATOR_HEARTBEAT_INTERVAL_MS: '5000',
      FIELDLINK_SIMULATOR_TOKEN: '',
      FORCE_COLOR: '0',
    };
    const service = (name: string, main: string, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): ServiceProcess => {
      // One OS process per service (node with tsx's loader, not the tsx CLI, which runs the service in a child of its own: a SIGKILL would orphan it).
      const p = new ServiceProcess(
        name,
        process.execPath,
        ['--conditions=@fieldlink/source', '--import', 'tsx', join(root, main), ...args],
        { ...env, ...extraEnv },
        root,
        join(dir, `${name}.log`),
      );
      processes.push(p);
      return p;
    };
    const streamProcessors = [
      service('stream-processor-1', 'apps/stream-processor/src/main.ts'),
      service('stream-processor-2', 'apps/stream-processor/src/main.ts'),
    ];
    const orchestrators = [service('orchestrator-1', 'apps/orchestrator/src/main.ts'), service('orchestrator-2', 'apps/orchestrator/src/main.ts')];
    // Devices over MQTT (what thermostats speak) and over AMQP (which can reject and abandon), one simulator each.
    const simulators = (['mqtt', 'amqp'] as const).map((transport) => ({
      prefix: `${transport}-thermostat-`,
      process: service(
        `simulator-${transport}`,
        'apps/thermostat-simulator/src/main.ts',
        ['--port', '0', '--devices', String(options.devices), '--id-prefix', `${transport}-thermostat-`],
        { FIELDLINK_IOT_HUB_DEVICE_TRANSPORT: transport },
      ),
      url: '',
    }));
    // The console on its own: it reads the CRM (and its own status store) and starts no service.
    const consoleProcess = service('console', 'apps/console/src/main.ts', ['--port', '0'], { FIELDLINK_CONSOLE_TOKEN: '' });
    /** How long a service took from spawn to its start line: the slowest bounds how long a restart leaves a gap. */
    let slowestStartMs = 0;
    const startTimed = async (p: ServiceProcess, pattern: RegExp): Promise<string> => {
      const at = Date.now();
      const ready = p.waitFor(pattern, 300_000);
      p.start();
      const line = await ready;
      slowestStartMs = Math.max(slowestStartMs, Date.now() - at);
      return line;
    };
    await Promise.all([...streamProcessors, ...orchestrators].map((p) => startTimed(p, /\.started/)));
    await Promise.all(
      simulators.map(async (sim) => {
        // With FIELDLINK_LOG_FORMAT=json the simulator announces its page as a log line.
        sim.url = String((JSON.parse(await startTimed(sim.process, /"event":"thermostat-simulator\.started"/)) as { url: unknown }).url);
      }),
    );
    const consoleUrl = String((JSON.parse(await startTimed(consoleProcess, /"event":"console\.started"/)) as { url: unknown }).url);
    write(
      `started: 2 stream processors, 2 orchestrators, 2 simulators (${options.devices} MQTT devices, ${options.devices} AMQP devices), the console; slowest start ${slowestStartMs} ms`,
    );

    // Malformed messages on the alerts queue: each must end in its dead-letter queue with a reason.
    const alertsQueue = new ServiceBusQueue({
      auth: { connectionString: stack.settings.env['FIELDLINK_SERVICE_BUS_CONNECTION_STRING']! },
      queueName: (stack.settings.config['serviceBus'] as { alertsQueue: string }).alertsQueue,
      retry: { timeoutInMs: 10_000, retryDelayInMs: 1_000 },
    });
    const injected = [`malformed-${randomUUID()}`, `malformed-${randomUUID()}`, `malformed-${randomUUID()}`];
    const bodies = ['{"DeviceID": "thermostat-1", "Reading"', '[1, 2, 3]', '{"DeviceID": 42, "ReadingType": "Temperature"}'];

    // Sent again on failure (the run's own connection is dropped too); the message id makes a repeat a duplicate the queue drops.
    const sendMalformed = async (i: number): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await alertsQueue.send([{ messageId: injected[i]!, body: new TextEncoder().encode(bodies[i]!), contentType: 'application/json' }]);
        } catch (e) {
          if (attempt >= 10) throw e;
          await sleep(500 * attempt);
        }
      }
    };

    // A device is nudged through the simulator's page API; true when the simulator took it.
    const nudge = (sim: { url: string }, deviceId: string, degrees: number): Promise<boolean> =>
      fetch(`${sim.url}api/devices/${deviceId}/nudge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ degrees }),
        signal: AbortSignal.timeout(10_000),
      }).then(
        (r) => r.ok,
        () => false,
      );
    // The degrees each device was nudged up by: taken back when the window ends, so that the
    // scripted over-threshold events end with it (the demo rule cools a device once per parent
    // alert, and a device nudged again after that would stay over the threshold for good).
    const heated = new Map<string, { sim: { url: string }; degrees: number }>();

    // The fault window: nudges over the threshold and faults, on the seeded schedule.
    const faults: Record<string, number> = {};
    const windowEnd = Date.now() + options.faultWindowMs;
    let lastFaultAt = Date.now();
    let malformedSent = 0;
    const restarts: Array<Promise<void>> = [];
    // Every kind of fault at least once, in a seeded order, then seeded picks: the window lasts until each kind has come.
    const firstRound = shuffled(random, FAULT_KINDS);
    const startedAt = Date.now();
    while (Date.now() < windowEnd || firstRound.length > 0) {
      await sleep(between(random, 1_000, 4_000));
      const sim = pick(random, simulators);
      const deviceId = `${sim.prefix}${between(random, 1, options.devices)}`;
      if (await nudge(sim, deviceId, 9)) heated.set(deviceId, { sim, degrees: (heated.get(deviceId)?.degrees ?? 0) + 9 });
      if (malformedSent < injected.length && random() < 0.3) {
        await sendMalformed(malformedSent);
        malformedSent++;
      }
      if (random() < 0.3) continue;
      const kind = firstRound.shift() ?? pick(random, FAULT_KINDS);
      write(`fault at +${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${kind}`);
      faults[kind] = (faults[kind] ?? 0) + 1;
      lastFaultAt = Date.now();
      switch (kind) {
        case 'kill-stream-processor':
        case 'kill-orchestrator': {
          const target = pick(random, kind === 'kill-stream-processor' ? streamProcessors : orchestrators);
          if (!target.running) break;
          const downMs = between(random, 500, 3_000);
          write(`fault: SIGKILL ${target.name} (pid ${target.pid}), restart in ${downMs} ms`);
          target.kill();
          // Killed again before it is up, it is started by that fault: a failed wait is no failure here.
          restarts.push(
            sleep(downMs).then(() =>
              startTimed(target, /\.started/).then(
                () => undefined,
                () => undefined,
              ),
            ),
          );
          break;
        }
        case 'drop-service-bus':
          write(`fault: Service Bus drops ${stack.serviceBus.dropConnections()} connections`);
          break;
        case 'drop-event-hubs':
          write(`fault: Event Hubs drops ${stack.eventHubs.dropConnections()} connections`);
          break;
        case 'drop-iot-hub':
          write(`fault: IoT hub drops ${stack.iotHub.dropConnections()} connections`);
          break;
        case 'service-bus-server-busy': {
          const forMs = between(random, 2_000, FAULT_WINDOW_MAX_MS);
          stack.serviceBus.serverBusy(forMs);
          write(`fault: Service Bus answers server-busy for ${forMs} ms`);
          break;
        }
        case 'dataverse-unavailable': {
          const forMs = between(random, 2_000, FAULT_WINDOW_MAX_MS);
          stack.dataverse.unavailable(forMs);
          write(`fault: Dataverse answers 503 for ${forMs} ms`);
          break;
        }
        case 'delay-service-bus': {
          const forMs = between(random, 1_000, FAULT_WINDOW_MAX_MS);
          stack.serviceBus.holdDeliveries(forMs);
          write(`fault: Service Bus delivers nothing for ${forMs} ms`);
          break;
        }
        case 'delay-event-hubs': {
          const forMs = between(random, 1_000, FAULT_WINDOW_MAX_MS);
          stack.eventHubs.holdDeliveries(forMs);
          write(`fault: Event Hubs delivers nothing for ${forMs} ms`);
          break;
        }
        case 'redeliver-locked':
          write(`fault: Service Bus ends the locks of ${stack.serviceBus.redeliverLocked()} messages: each is delivered again`);
          break;
      }
    }
    for (; malformedSent < injected.length; malformedSent++) await sendMalformed(malformedSent);
    for (const [deviceId, { sim, degrees }] of heated) {
      for (let attempt = 1; !(await nudge(sim, deviceId, -degrees)); attempt++) {
        if (attempt >= 5) throw new Error(`the simulator refused to take ${deviceId} back down by ${degrees} degrees`);
        await sleep(500 * attempt);
      }
    }
    await Promise.all(restarts);
    const bound = options.quietBoundMs === undefined ? quietBound(slowestStartMs) : { ms: options.quietBoundMs, parts: 'given' };
    write(
      `fault window over: ${
        Object.entries(faults)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'no faults'
      }; waiting for quiet (bound ${bound.ms} ms = ${bound.parts})`,
    );

    // Quiet: every expected alert in the CRM, queues drained, every command terminal, the same for 5 s.
    // The run's own clients meet the same dropped connections: a failed look is a look again, not a verdict.
    let last: Observation | undefined;
    const observeSafely = async (): Promise<Observation> => {
      try {
        last = await observe(stack, injected, alertsQueue.name);
      } catch (e) {
        const why = [`could not look: ${(e as Error).message.split('\n')[0]}`];
        last = last === undefined ? { quiet: false, why, failures: why, figures: emptyFigures(injected) } : { ...last, quiet: false, why };
      }
      return last;
    };
    let report = await observeSafely();
    let quietSince: number | undefined;
    let recoveryMs: number | undefined;
    let lastWhy = '';
    while (Date.now() - lastFaultAt < bound.ms) {
      await sleep(1_000);
      report = await observeSafely();
      // What the run still waits for, each time it changes: where a slow recovery spends its time.
      const why = report.why.join('; ').replace(/\d+/g, 'n');
      if (why !== lastWhy) write(`  +${Date.now() - lastFaultAt} ms: ${report.why.join('; ') || 'quiet'}`);
      lastWhy = why;
      if (report.quiet) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= 5_000) {
          recoveryMs = quietSince - lastFaultAt;
          break;
        }
      } else quietSince = undefined;
    }
    await alertsQueue.close();
    if (report.figures.alerts.unexpected.length > 0) await explainUnexpected(dir, report.figures.alerts.unexpected, write);
    const consoleView = await consoleShows(consoleUrl, stack);
    const failures = [...processes.flatMap((p) => p.crashes), ...report.failures, ...consoleView.problems.map((p) => `console: ${p}`)];
    if (recoveryMs === undefined) failures.unshift(`not quiet within ${bound.ms} ms of the last fault: ${report.why.join('; ')}`);
    const stats = stack.dataverse.stats();
    return {
      ...report.figures,
      seed: options.seed,
      faults,
      dataverseThrottled: stats.throttled,
      dataverseUnavailable: stats.unavailable,
      serverBusyRefusals: stack.serviceBus.serverBusyRefusals,
      quietBound: bound,
      console: consoleView,
      recoveryMs,
      failures,
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
    for (const p of processes) p.close();
    await stack.stop();
  }
}

/**
 * What the stream processors said about the partitions of unexpected alerts: the alerts raised
 * (the process that raised each), claims, takeovers and intake failures, so that a run whose logs
 * are gone (CI) still tells how the alert came about.
 */
async function explainUnexpected(dir: string, keys: readonly string[], write: (line: string) => void): Promise<void> {
  const tokens = keys.map((k) => k.split('/')[0]!);
  const lines: string[] = [];
  for (const name of ['stream-processor-1', 'stream-processor-2']) {
    const text = await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '');
    for (const line of text.split('\n'))
      if (tokens.some((t) => line.includes(t)) || /"(ingest\.partition|ingest\.commit-failed|telemetry-intake\.|ingest\.checkpoint-failed)/.test(line))
        lines.push(`  ${name}: ${line.slice(0, 400)}`);
  }
  write(`what the stream processors said of the unexpected alerts (${lines.length} line(s), the last 60):`);
  for (const line of lines.slice(-60)) write(line);
}

/**
 * The quiet bound: after the last fault, the longest chain of waits a message can meet before it
 * is handled, plus room to drain the backlog. A restarted service is up after the slowest start
 * seen in this run; a dead stream processor's partitions are taken after the ownership expires;
 * what a killed or disconnected holder had locked comes back after the Service Bus lock (alerts,
 * outbound) and the IoT hub lock (commands); a server-busy, 503 or delay window lasts at most
 * FAULT_WINDOW_MAX_MS; the Dataverse adapter and the queue processor back off at most their caps.
 */
export function quietBound(slowestStartMs: number): { ms: number; parts: string } {
  const parts: Array<[string, number]> = [
    ['slowest service start', slowestStartMs],
    ['partition ownership expiry', PARTITION_OWNERSHIP_EXPIRY_MS],
    ['Service Bus lock', SERVICE_BUS_LOCK_MS],
    ['IoT hub lock', HUB_LOCK_MS],
    ['fault window', FAULT_WINDOW_MAX_MS],
    ['Dataverse back-off cap', DATAVERSE_MAX_BACKOFF_MS],
    ['abandon back-off cap', ABANDON_MAX_BACKOFF_MS],
    ['drain', DRAIN_ALLOWANCE_MS],
  ];
  return { ms: parts.reduce((sum, [, ms]) => sum + ms, 0), parts: parts.map(([name, ms]) => `${name} ${ms}`).join(' + ') };
}

/**
 * The console's JSON API at the end: it lists the CRM's newest alerts (up to its 200 rows), roots
 * with their children, and the commands, each one the CRM holds; nothing it shows is unknown.
 */
async function consoleShows(url: string, stack: RunningLocalAzureStack): Promise<SystemReport['console']> {
  const problems: string[] = [];
  let snapshot: { alerts: Array<{ alertId: string; children: Array<{ alertId: string }> }>; commands: Array<{ commandId: string }> } | undefined;
  for (let attempt = 1; snapshot === undefined; attempt++) {
    const response = await fetch(`${url}api/snapshot`).catch((e: unknown) => e as Error);
    if (response instanceof Response && response.ok) snapshot = (await response.json()) as typeof snapshot;
    else if (attempt >= 10)
      return { alertsShown: 0, commandsShown: 0, problems: [`GET api/snapshot failed: ${response instanceof Response ? response.status : response.message}`] };
    else await sleep(1_000);
  }
  const shown = snapshot!.alerts.flatMap((a) => [a.alertId, ...a.children.map((c) => c.alertId)]);
  const alerts = new Set((await readAll(stack, 'msdyn_iotalerts?$select=msdyn_iotalertid')).map((r) => String(r['msdyn_iotalertid'])));
  const commands = new Set(
    (await readAll(stack, 'msdyn_iotdevicecommands?$select=msdyn_iotdevicecommandid')).map((r) => String(r['msdyn_iotdevicecommandid'])),
  );
  const unknownAlerts = shown.filter((id) => !alerts.has(id));
  const unknownCommands = snapshot!.commands.map((c) => c.commandId).filter((id) => !commands.has(id));
  if (new Set(shown).size !== shown.length) problems.push('an alert is shown twice');
  if (shown.length !== Math.min(200, alerts.size)) problems.push(`shows ${shown.length} alerts, the CRM holds ${alerts.size} (it lists up to 200)`);
  if (snapshot!.commands.length !== Math.min(200, commands.size))
    problems.push(`shows ${snapshot!.commands.length} commands, the CRM holds ${commands.size} (it lists up to 200)`);
  if (unknownAlerts.length > 0) problems.push(`shows alerts the CRM does not hold: ${unknownAlerts.slice(0, 5).join(', ')}`);
  if (unknownCommands.length > 0) problems.push(`shows commands the CRM does not hold: ${unknownCommands.slice(0, 5).join(', ')}`);
  return { alertsShown: shown.length, commandsShown: snapshot!.commands.length, problems };
}

interface Observation {
  readonly quiet: boolean;
  readonly why: string[];
  readonly failures: string[];
  readonly figures: Omit<
    SystemReport,
    'seed' | 'faults' | 'dataverseThrottled' | 'dataverseUnavailable' | 'serverBusyRefusals' | 'quietBound' | 'console' | 'recoveryMs' | 'failures'
  >;
}

function emptyFigures(injected: readonly string[]): Observation['figures'] {
  return {
    readings: 0,
    alerts: { expected: 0, created: 0, duplicated: 0, missing: [], unexpected: [] },
    commands: {},
    commandsNotTerminal: [],
    commandsAppliedTwice: [],
    deadLetters: { injected: [...injected], found: [], unexpected: [], missing: [...injected], withoutReason: [] },
    latencyMs: undefined,
  };
}

async function observe(stack: RunningLocalAzureStack, injected: readonly string[], alertsQueueName: string): Promise<Observation> {
  // The oracle: the CFS query over every event the hub holds, in partition order.
  const evaluator = evaluatorOf({ kind: 'cfs', rules: [CFS_THERMOSTAT_RULE] }, 'Thermostat');
  const expected = new Map<string, number>();
  const acks = new Map<string, number>();
  // Where each reading over the threshold sits, and the same reading of the same device before it: what explains an unexpected alert.
  const placed = new Map<string, ReadingPlace>();
  const lastOver = new Map<string, { sequenceNumber: number; enqueuedTime: number }>();
  let readings = 0;
  for (const event of stack.eventHubs.recordedEvents(stack.hubName)) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(event.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    const ack = body['CommandAck'] as { CommandId?: string; Status?: string } | undefined;
    if (ack?.Status === 'Applied' && ack.CommandId) acks.set(ack.CommandId, (acks.get(ack.CommandId) ?? 0) + 1);
    if (event.properties['messageType'] !== 'telemetry') continue;
    readings++;
    const telemetry = {
      deviceId: String(body['DeviceID'] ?? event.deviceId),
      eventToken: String(body['EventToken'] ?? ''),
      enqueuedTime: event.enqueuedTime,
      readings: Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
    };
    for (const alert of evaluator.evaluate(telemetry)) expected.set(`${alert.eventToken}/${alert.readingType}`, event.enqueuedTime);
    const temperature = telemetry.readings['Temperature'];
    if (temperature !== undefined && temperature > CFS_THERMOSTAT_RULE.threshold) {
      const sameKey = `${telemetry.deviceId}/${temperature}`;
      const before = lastOver.get(sameKey);
      placed.set(`${telemetry.eventToken}/Temperature`, {
        deviceId: telemetry.deviceId,
        partitionId: event.partitionId,
        sequenceNumber: event.sequenceNumber,
        temperature,
        enqueuedTime: event.enqueuedTime,
        ...(before === undefined ? {} : { sameAt: before.sequenceNumber, msAfterSame: event.enqueuedTime - before.enqueuedTime }),
      });
      lastOver.set(sameKey, { sequenceNumber: event.sequenceNumber, enqueuedTime: event.enqueuedTime });
    }
  }
  const records = await readAll(stack, 'msdyn_iotalerts?$select=msdyn_alerttoken,msdyn_alertdata,createdon');
  const created = new Map<string, number>();
  const latencies: number[] = [];
  for (const r of records) {
    const readingType = readingTypeOf(r['msdyn_alertdata']);
    const key = `${String(r['msdyn_alerttoken'])}/${readingType}`;
    created.set(key, (created.get(key) ?? 0) + 1);
    const at = expected.get(key);
    const createdOn = Date.parse(String(r['createdon'] ?? ''));
    if (at !== undefined && Number.isFinite(createdOn)) latencies.push(createdOn - at);
  }
  const missing = [...expected.keys()].filter((k) => !created.has(k));
  const unexpected = [...created.keys()].filter((k) => !expected.has(k));
  const duplicated = [...created.values()].filter((n) => n > 1).length;
  const commands = await readAll(stack, 'msdyn_iotdevicecommands?$select=msdyn_iotdevicecommandid,msdyn_commandstatusreason');
  const byState: Record<string, number> = {};
  const notTerminal: string[] = [];
  for (const c of commands) {
    const state = /^\[Fieldlink: ([a-z]+)\]/.exec(String(c['msdyn_commandstatusreason'] ?? ''))?.[1] ?? 'requested';
    byState[state] = (byState[state] ?? 0) + 1;
    if (!TERMINAL.has(state)) notTerminal.push(`${String(c['msdyn_iotdevicecommandid'])} (${state})`);
  }
  const appliedTwice = [...acks].filter(([, n]) => n > 1).map(([id, n]) => `${id} applied ${n} times`);
  // The stand-in's own view of the dead-letter queue: the SDK's peek over a management link does not always come back after dropped connections.
  const found = stack.serviceBus.deadLetters(alertsQueueName).map((m) => ({ messageId: m.messageId, reason: m.reason }));
  const unexpectedDead = found.filter((f) => !injected.includes(f.messageId)).map((f) => `${f.messageId} (${f.reason})`);
  const missingDead = injected.filter((id) => !found.some((f) => f.messageId === id));
  const withoutReason = found.filter((f) => f.reason === '').map((f) => f.messageId);
  const alertsCounts = stack.serviceBus.counts((stack.settings.config['serviceBus'] as { alertsQueue: string }).alertsQueue);
  const outboundCounts = stack.serviceBus.counts((stack.settings.config['serviceBus'] as { outboundQueue: string }).outboundQueue);
  const outboundDead = outboundCounts.deadLetters;

  const why: string[] = [];
  if (missing.length > 0) why.push(`${missing.length} expected alert(s) not in the CRM`);
  if (alertsCounts.active + alertsCounts.locked > 0) why.push(`alerts queue holds ${alertsCounts.active + alertsCounts.locked}`);
  if (outboundCounts.active + outboundCounts.locked > 0) why.push(`outbound queue holds ${outboundCounts.active + outboundCounts.locked}`);
  if (notTerminal.length > 0) why.push(`${notTerminal.length} command(s) not terminal`);
  const pendingPosts = stack.dataverse.stats().pendingPosts;
  if (pendingPosts > 0) why.push(`Dataverse holds ${pendingPosts} service-endpoint message(s) the outbound queue refused`);
  if (missingDead.length > 0) why.push(`${missingDead.length} malformed message(s) not dead-lettered yet`);
  const failures: string[] = [];
  if (missing.length > 0) failures.push(`expected alerts missing from the CRM: ${missing.slice(0, 10).join(', ')}`);
  if (unexpected.length > 0)
    failures.push(
      `unexpected alerts in the CRM: ${unexpected
        .slice(0, 10)
        .map((k) => `${k} (${describePlace(placed.get(k))})`)
        .join(', ')}`,
    );
  if (duplicated > 0) failures.push(`${duplicated} alert(s) created more than once`);
  if (notTerminal.length > 0) failures.push(`commands without a terminal state: ${notTerminal.slice(0, 10).join(', ')}`);
  if (appliedTwice.length > 0) failures.push(`commands applied more than once: ${appliedTwice.join(', ')}`);
  if (unexpectedDead.length > 0) failures.push(`dead letters that were not injected: ${unexpectedDead.join(', ')}`);
  if (missingDead.length > 0) failures.push(`injected malformed messages not dead-lettered: ${missingDead.join(', ')}`);
  if (withoutReason.length > 0) failures.push(`dead letters without a reason: ${withoutReason.join(', ')}`);
  if (outboundDead > 0) failures.push(`${outboundDead} message(s) dead-lettered on the outbound queue`);
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return {
    // Quiet is about waiting: what only more time could change. A duplicate or an unexpected alert is there for good.
    quiet: why.length === 0,
    why,
    failures,
    figures: {
      readings,
      alerts: { expected: expected.size, created: records.length, duplicated, missing, unexpected },
      commands: byState,
      commandsNotTerminal: notTerminal,
      commandsAppliedTwice: appliedTwice,
      deadLetters: { injected: [...injected], found, unexpected: unexpectedDead, missing: missingDead, withoutReason },
      latencyMs: latencies.length === 0 ? undefined : { p50: pct(50), p99: pct(99) },
    },
  };
}

/** Where a reading over the threshold sits in the hub, and the same reading of the device before it (`sameAt`, `msAfterSame` ms earlier). */
interface ReadingPlace {
  readonly deviceId: string;
  readonly partitionId: string;
  readonly sequenceNumber: number;
  readonly temperature: number;
  readonly enqueuedTime: number;
  readonly sameAt?: number;
  readonly msAfterSame?: number;
}

/** Where an unexpected alert's reading sits in the hub, and the same reading of the device before it. */
function describePlace(place: ReadingPlace | undefined): string {
  if (place === undefined) return 'no such reading in the hub';
  const at = `device ${place.deviceId}, partition ${place.partitionId}, sequence ${place.sequenceNumber}, ${place.temperature} enqueued ${new Date(place.enqueuedTime).toISOString()}`;
  return place.sameAt === undefined ? at : `${at}; the same reading at sequence ${place.sameAt}, ${place.msAfterSame} ms before`;
}

/** Every record of an entity set from the Dataverse emulator's Web API, page by page. */
async function readAll(stack: RunningLocalAzureStack, query: string): Promise<Array<Record<string, unknown>>> {
  const token = stack.settings.env['FIELDLINK_DATAVERSE_EMULATOR_ACCESS_TOKEN']!;
  const rows: Array<Record<string, unknown>> = [];
  let url: string | undefined = `${stack.dataverse.webApiUrl}${query}`;
  while (url !== undefined) {
    const response: Response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json', prefer: 'odata.maxpagesize=500' } });
    if (response.status === 429) {
      await sleep(1_000);
      continue;
    }
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { value: Array<Record<string, unknown>>; '@odata.nextLink'?: string };
    rows.push(...page.value);
    url = page['@odata.nextLink'];
  }
  return rows;
}

function readingTypeOf(alertData: unknown): string {
  try {
    const data = JSON.parse(String(alertData)) as Record<string, unknown>;
    const key = Object.keys(data).find((k) => k.toLowerCase() === 'readingtype');
    return key === undefined ? '?' : String(data[key]);
  } catch {
    return '?';
  }
}

/** A seeded permutation (Fisher–Yates). */
function shuffled<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatReport(report: SystemReport): string {
  const list = (entries: Record<string, number>): string =>
    Object.entries(entries)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  return [
    `seed ${report.seed}`,
    `readings: ${report.readings}`,
    `faults: ${list(report.faults)}`,
    `service answers: Dataverse 429 ${report.dataverseThrottled}, Dataverse 503 ${report.dataverseUnavailable}, Service Bus server-busy ${report.serverBusyRefusals}`,
    `alerts: expected ${report.alerts.expected}, created ${report.alerts.created}, duplicated ${report.alerts.duplicated}, missing ${report.alerts.missing.length}, unexpected ${report.alerts.unexpected.length}`,
    `commands by end state: ${list(report.commands)}`,
    `dead letters: ${report.deadLetters.found.map((f) => `${f.messageId} (${f.reason})`).join(', ') || 'none'}`,
    `console: shows ${report.console.alertsShown} alerts and ${report.console.commandsShown} commands`,
    `recovery: ${report.recoveryMs === undefined ? `not quiet within ${report.quietBound.ms} ms` : `quiet ${report.recoveryMs} ms after the last fault`} (bound ${report.quietBound.ms} ms = ${report.quietBound.parts})`,
    `reading → alert record: ${report.latencyMs === undefined ? 'no alerts' : `p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms`}`,
    report.failures.length === 0 ? 'PASSED' : `FAILED:\n  ${report.failures.join('\n  ')}`,
  ].join('\n');
}
