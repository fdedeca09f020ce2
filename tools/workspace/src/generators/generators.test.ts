import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceTypesOf } from '@fieldlink/composition';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_PORTS, adapterGenerator } from './adapter/generator.js';
import { deviceTypeGenerator } from './device-type/generator.js';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/**
 * A copy of the workspace's tracked and new files (not the ignored ones) in a temporary folder,
 * sharing the installed node_modules: generators run there as a developer runs them, and what
 * they make is linted, typechecked and tested with the workspace's own targets.
 *
 * Other tests run beside this one (`npm test` runs projects in parallel) and rewrite tracked
 * files meanwhile: the pact tests write `contracts/pacts/*.json` anew. A file missing for that
 * moment is copied again once it is back, or else taken as git's index holds it.
 */
function copyWorkspace(): string {
  const copy = mkdtempSync(join(tmpdir(), 'fieldlink-generators-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: workspaceRoot, encoding: 'utf8' }).split('\0');
  for (const file of files) {
    if (file === '') continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyWhileRewritten(file, join(copy, file));
  }
  symlinkSync(join(workspaceRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}

function copyWhileRewritten(file: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      cpSync(join(workspaceRoot, file), to);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (attempt >= 20) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  // Still gone: the index's copy, when git tracks it (a new file that vanished is no longer part of the workspace).
  const indexed = spawnSync('git', ['show', `:${file}`], { cwd: workspaceRoot });
  if (indexed.status === 0) writeFileSync(to, indexed.stdout);
}

/** The environment without the outer Nx task's variables, which would point the inner Nx at this workspace. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NX_')));

const nx = (cwd: string, ...args: string[]) => {
  const run = spawnSync(process.execPath, [join(workspaceRoot, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...cleanEnv(), FORCE_COLOR: '0', NO_COLOR: '1', NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
};

describe('nx g @fieldlink/workspace:adapter, in a copy of the workspace', () => {
  let copy: string;
  beforeAll(() => {
    copy = copyWorkspace();
  });
  afterAll(() => {
    rmSync(copy, { recursive: true, force: true });
  });

  it('makes, for each port with a template, an adapter project that typechecks and passes the port’s conformance suite; eight of them (five CRM roles and three others) also lint', () => {
    const made = [
      { name: 'probe-store', port: 'rule-state-store', suite: 'ProbeStoreRuleStateStore conforms to RuleStateStorePort', endToEnd: true },
      { name: 'probe-queue', port: 'message-queue', suite: 'ProbeQueueMessageQueue conforms to MessageQueuePort', endToEnd: true },
      { name: 'probe-rejects', port: 'rejected-telemetry', suite: 'ProbeRejectsRejectedTelemetry conforms to RejectedTelemetryPort', endToEnd: false },
      { name: 'probe-status', port: 'status-store', suite: 'ProbeStatusStatusStore conforms to StatusStorePort', endToEnd: false },
      { name: 'probe-rules', port: 'reference-data', suite: 'ProbeRulesReferenceData conforms to ReferenceDataPort', endToEnd: false },
      { name: 'probe-registry', port: 'device-registry', suite: 'ProbeRegistryDeviceRegistry conforms to DeviceRegistryPort', endToEnd: false },
      { name: 'probe-stream', port: 'telemetry-intake', suite: 'ProbeStreamTelemetryIntake conforms to TelemetryIntakePort', endToEnd: false },
      { name: 'probe-hub', port: 'cloud-to-device', suite: 'ProbeHubCloudToDevice conforms to CloudToDevicePort', endToEnd: false },
      { name: 'probe-sim', port: 'device-client', suite: 'ProbeSimDeviceClient conforms to DeviceClientPort', endToEnd: true },
      { name: 'probe-history', port: 'crm-device-data', suite: 'ProbeHistoryCrmDeviceData conforms to CrmDeviceDataPort', endToEnd: false },
      { name: 'probe-settings', port: 'crm-settings', suite: 'ProbeSettingsCrmSettings conforms to CrmSettingsPort', endToEnd: false },
      {
        name: 'probe-categories',
        port: 'crm-device-categories',
        suite: 'ProbeCategoriesCrmDeviceCategories conforms to CrmDeviceCategoriesPort',
        endToEnd: true,
      },
      { name: 'probe-work', port: 'crm-work', suite: 'ProbeWorkCrmWork conforms to CrmWorkPort', endToEnd: true },
      { name: 'probe-alerts', port: 'crm-alerts', suite: 'ProbeAlertsCrmAlerts conforms to CrmAlertsPort', endToEnd: true },
      { name: 'probe-commands', port: 'crm-commands', suite: 'ProbeCommandsCrmCommands conforms to CrmCommandsPort', endToEnd: true },
      { name: 'probe-devices', port: 'crm-devices', suite: 'ProbeDevicesCrmDevices conforms to CrmDevicesPort', endToEnd: true },
    ];
    expect(made.map((m) => m.port).sort()).toEqual([...ADAPTER_PORTS].sort());
    for (const { name, port } of made) {
      const generated = nx(copy, 'g', '@fieldlink/workspace:adapter', name, '--port', port);
      expect(generated.status, generated.output).toBe(0);
      expect(generated.output).toContain(`CREATE libs/adapters/${name}/src/${name}-${port}.test.ts`);
      expect(JSON.parse(readFileSync(join(copy, `libs/adapters/${name}/project.json`), 'utf8'))).toMatchObject({
        name: `adapter-${name}`,
        tags: ['layer:adapter'],
      });
    }

    const projects = (endToEnd: boolean) => made.filter((m) => m.endToEnd === endToEnd).map((m) => `adapter-${m.name}`);
    const full = nx(copy, 'run-many', '-t', 'lint', 'typecheck', 'test', '-p', ...projects(true), '--outputStyle=static');
    expect(full.status, full.output).toBe(0);
    const typed = nx(copy, 'run-many', '-t', 'typecheck', 'test', '-p', ...projects(false), '--outputStyle=static');
    expect(typed.status, typed.output).toBe(0);
    for (const { name, suite } of made) {
      // The suite really ran: its report lists the conformance tests, every one passed.
      const report = JSON.parse(readFileSync(join(copy, `tmp/test-results/adapter-${name}.json`), 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        testResults: { assertionResults: { fullName: string }[] }[];
      };
      expect(report.numFailedTests, name).toBe(0);
      expect(report.numPassedTests, name).toBeGreaterThanOrEqual(2);
      expect(
        report.testResults.flatMap((r) => r.assertionResults.map((a) => a.fullName)).every((n) => n.startsWith(suite)),
        name,
      ).toBe(true);
    }
  });
});

describe('nx g @fieldlink/workspace:device-type, in a copy of the workspace', () => {
  let copy: string;
  beforeAll(() => {
    copy = copyWorkspace();
  });
  afterAll(() => {
    rmSync(copy, { recursive: true, force: true });
  });

  it('writes a device type document that the services read: the reading with its range, its CFS rule and its commands', () => {
    const generated = nx(
      copy,
      'g',
      '@fieldlink/workspace:device-type',
      'FlowMeter',
      '--reading',
      'Flow',
      '--unit',
      'l/min',
      '--min',
      '0',
      '--max',
      '500',
      '--threshold',
      '420',
      '--ruleOutput',
      'AlarmFlow',
      '--command',
      'Close Valve',
    );
    expect(generated.status, generated.output).toBe(0);
    const types = deviceTypesOf(join(copy, 'device-types/flow-meter.device-type.yaml'));
    expect(types.ok, JSON.stringify(types)).toBe(true);
    if (!types.ok) return;
    const meter = types.value.types.find((t) => t.definition.name === 'FlowMeter');
    expect(meter?.rules).toEqual([{ deviceType: 'FlowMeter', readingType: 'Flow', threshold: 420, ruleOutput: 'AlarmFlow' }]);
    expect(meter?.readings).toMatchObject([{ name: 'Flow', unit: 'l/min', min: 0, max: 500 }]);
    expect(meter?.definition.commands.map((c) => c.name)).toEqual(['Close Valve', 'Notification']);
    expect(meter?.definition.commands[0]?.parameters).toEqual({ Flow: { type: 'numericString', min: 0, max: 500 } });
  });
});

describe('the generators refuse what they cannot make, naming it', () => {
  it('adapter: a name that is not kebab case, a port without a template, a project that exists', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(adapterGenerator(tree, { name: 'Redis_Store', port: 'rule-state-store' })).rejects.toThrow(
      "name must be kebab case (a-z, 0-9, single dashes), got 'Redis_Store'",
    );
    await expect(adapterGenerator(tree, { name: 'redis', port: 'crm-gateway' as 'rule-state-store' })).rejects.toThrow(
      "no template for port 'crm-gateway'; expected one of rule-state-store, rejected-telemetry, status-store, reference-data, device-registry, message-queue, telemetry-intake, cloud-to-device, device-client, crm-device-data, crm-settings, crm-device-categories, crm-work, crm-alerts, crm-commands, crm-devices",
    );
    await adapterGenerator(tree, { name: 'redis', port: 'rule-state-store' });
    await expect(adapterGenerator(tree, { name: 'redis', port: 'rule-state-store' })).rejects.toThrow('libs/adapters/redis exists already');
  });

  it('device-type: a threshold outside the reading’s range, a range upside down, a document that exists; nothing is written', async () => {
    const tree = createTreeWithEmptyWorkspace();
    const options = { name: 'FlowMeter', reading: 'Flow', min: 0, max: 500, threshold: 420, ruleOutput: 'AlarmFlow', command: 'Close Valve' };
    await expect(deviceTypeGenerator(tree, { ...options, threshold: 900 })).rejects.toThrow("threshold 900 is outside the reading's range 0..500");
    await expect(deviceTypeGenerator(tree, { ...options, min: 600 })).rejects.toThrow('deviceTypes.0.readings.0.min: expected min (600) not above max (500)');
    expect(tree.exists('device-types/flow-meter.device-type.yaml')).toBe(false);
    await deviceTypeGenerator(tree, options);
    await expect(deviceTypeGenerator(tree, options)).rejects.toThrow('device-types/flow-meter.device-type.yaml exists already');
  });
});
