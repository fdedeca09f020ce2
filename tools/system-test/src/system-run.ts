import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceBusQueue } from '@fieldlink/adapter-azure';
import { startLocalAzureStack, type RunningLocalAzureStack, CFS_THERMOSTAT_RULE } from '@fieldlink/azure-standins';
import { evaluatorOf } from '@fieldlink/flows';
import { between, pick, seededRandom } from '@fieldlink/domain/testing';
import { ServiceProcess } from './service-process.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface SystemRunOptions {
  readonly seed: number;
  /** How long faults are injected and readings pushed over the threshold. */
  readonly faultWindowMs: number;
  /** The bound within which the system must be quiet after the last fault. */
  readonly quietBoundMs: number;
  readonly devices: number;
  readonly write?: (line: string) => void;
}

export type FaultKind = 'kill-stream-processor' | 'kill-orchestrator' | 'drop-service-bus' | 'drop-event-hubs' | 'drop-iot-hub';
const FAULT_KINDS: readonly FaultKind[] = ['kill-stream-processor', 'kill-orchestrator', 'drop-service-bus', 'drop-event-hubs', 'drop-iot-hub'];

export interface SystemReport {
  readonly seed: number;
  readonly readings: number;
  readonly faults: Record<string, number>;
  readonly dataverseThrottled: number;
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
    hub: { lockTimeoutMs: 10_000 },
    queueSettings: { lockDurationMs: 30_000 },
    dataverseLimits: { maxRequests: 40, windowMs: 1_000 },
  });
  const processes: ServiceProcess[] = [];
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
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
    const started = [...streamProcessors, ...orchestrators].map((p) => {
      const ready = p.waitFor(/\.started/, 300_000);
      p.start();
      return ready;
    });
    await Promise.all(started);
    await Promise.all(
      simulators.map(async (sim) => {
        // With FIELDLINK_LOG_FORMAT=json the simulator announces its page as a log line.
        const ready = sim.process.waitFor(/"event":"thermostat-simulator\.started"/, 300_000);
        sim.process.start();
        sim.url = String((JSON.parse(await ready) as { url: unknown }).url);
      }),
    );
    write(`started: 2 stream processors, 2 orchestrators, 2 simulators (${options.devices} MQTT devices, ${options.devices} AMQP devices)`);

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

    // The fault window: nudges over the threshold and faults, on the seeded schedule.
    const faults: Record<string, number> = {};
    const windowEnd = Date.now() + options.faultWindowMs;
    let lastFaultAt = Date.now();
    let malformedSent = 0;
    const restarts: Array<Promise<void>> = [];
    while (Date.now() < windowEnd) {
      await sleep(between(random, 1_000, 4_000));
      const sim = pick(random, simulators);
      const deviceId = `${sim.prefix}${between(random, 1, options.devices)}`;
      await fetch(`${sim.url}api/devices/${deviceId}/nudge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ degrees: 9 }),
      }).catch(() => undefined);
      if (malformedSent < injected.length && random() < 0.3) {
        await sendMalformed(malformedSent);
        malformedSent++;
      }
      if (random() < 0.5) continue;
      const kind = pick(random, FAULT_KINDS);
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
          restarts.push(sleep(downMs).then(() => target.start()));
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
      }
    }
    for (; malformedSent < injected.length; malformedSent++) await sendMalformed(malformedSent);
    await Promise.all(restarts);
    write(
      `fault window over: ${
        Object.entries(faults)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'no faults'
      }; waiting for quiet (bound ${options.quietBoundMs} ms)`,
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
    while (Date.now() - lastFaultAt < options.quietBoundMs) {
      await sleep(1_000);
      report = await observeSafely();
      if (report.quiet) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= 5_000) {
          recoveryMs = quietSince - lastFaultAt;
          break;
        }
      } else quietSince = undefined;
    }
    await alertsQueue.close();
    const failures = [...processes.flatMap((p) => p.crashes), ...report.failures];
    if (recoveryMs === undefined) failures.unshift(`not quiet within ${options.quietBoundMs} ms of the last fault: ${report.why.join('; ')}`);
    return { ...report.figures, seed: options.seed, faults, dataverseThrottled: stack.dataverse.stats().throttled, recoveryMs, failures };
  } finally {
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
    for (const p of processes) p.close();
    await stack.stop();
  }
}

interface Observation {
  readonly quiet: boolean;
  readonly why: string[];
  readonly failures: string[];
  readonly figures: Omit<SystemReport, 'seed' | 'faults' | 'dataverseThrottled' | 'recoveryMs' | 'failures'>;
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
  if (missingDead.length > 0) why.push(`${missingDead.length} malformed message(s) not dead-lettered yet`);
  const failures: string[] = [];
  if (missing.length > 0) failures.push(`expected alerts missing from the CRM: ${missing.slice(0, 10).join(', ')}`);
  if (unexpected.length > 0) failures.push(`unexpected alerts in the CRM: ${unexpected.slice(0, 10).join(', ')}`);
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
    quiet: why.length === 0 && failures.length === 0,
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatReport(report: SystemReport, bounds: { readonly quietBoundMs: number }): string {
  return [
    `seed ${report.seed}`,
    `readings: ${report.readings}`,
    `faults: ${
      Object.entries(report.faults)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }; Dataverse 429 answers: ${report.dataverseThrottled}`,
    `alerts: expected ${report.alerts.expected}, created ${report.alerts.created}, duplicated ${report.alerts.duplicated}, missing ${report.alerts.missing.length}, unexpected ${report.alerts.unexpected.length}`,
    `commands by end state: ${
      Object.entries(report.commands)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `dead letters: ${report.deadLetters.found.map((f) => `${f.messageId} (${f.reason})`).join(', ') || 'none'}`,
    `recovery: ${report.recoveryMs === undefined ? `not quiet within ${bounds.quietBoundMs} ms` : `quiet ${report.recoveryMs} ms after the last fault (bound ${bounds.quietBoundMs} ms)`}`,
    `reading → alert record: ${report.latencyMs === undefined ? 'no alerts' : `p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms`}`,
    report.failures.length === 0 ? 'PASSED' : `FAILED:\n  ${report.failures.join('\n  ')}`,
  ].join('\n');
}
