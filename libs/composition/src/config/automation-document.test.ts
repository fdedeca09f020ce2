import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlertType } from '@fieldlink/domain';
import { DeviceTypeCatalog } from '@fieldlink/flows';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { automationPolicyOf, describeAutomationPolicy, parseAutomationDocument } from './automation-document.js';
import { deviceTypesOf, parseDeviceTypesDocument } from './device-types-document.js';
import { parseConfig } from './load-config.js';
import { createCombinedRuntime } from '../runtime/create-runtimes.js';

const examples = (file: string): string => fileURLToPath(new URL(`../../../../apps/cli/examples/${file}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fieldlink-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const types = deviceTypesOf(examples('device-types.pressure.yaml'));
if (!types.ok) throw new Error(JSON.stringify(types.error));
const catalog = new DeviceTypeCatalog([{ name: 'configuration', deviceTypes: types.value.types.map((t) => t.definition) }]);

describe('the device type document', () => {
  it('adds the pressure sensor to the built-in thermostat, with its reading, rule and command', () => {
    expect(types.value.types.map((t) => t.definition.name)).toEqual(['Thermostat', 'PressureSensor']);
    const pressure = types.value.types[1]!;
    expect(pressure.rules).toEqual([{ deviceType: 'PressureSensor', readingType: 'Pressure', threshold: 800, ruleOutput: 'AlarmPressure' }]);
    expect(catalog.check('PressureSensor', '{"CommandName":"Release Pressure","Parameters":{"Pressure":"300"}}').ok).toBe(true);
    expect(catalog.check('PressureSensor', '{"CommandName":"Release Pressure","Parameters":{"Pressure":"1e308"}}')).toEqual({
      ok: false,
      error: [{ path: 'Parameters.Pressure', message: 'expected at most 1000' }],
    });
  });

  it('refuses a numeric parameter without its range, a rule on an unknown reading, and names the path', () => {
    const pump = (rules: unknown[], flow: unknown) =>
      parseDeviceTypesDocument({
        deviceTypes: [{ name: 'Pump', readings: [{ name: 'Flow', min: 0, max: 10 }], rules, commands: [{ name: 'Set Flow', parameters: { Flow: flow } }] }],
      });
    expect(pump([], { type: 'numericString' })).toEqual({
      ok: false,
      error: [
        { path: 'deviceTypes.0.commands.0.parameters.Flow.min', message: 'required: a number parameter carries its range (min)' },
        { path: 'deviceTypes.0.commands.0.parameters.Flow.max', message: 'required: a number parameter carries its range (max)' },
      ],
    });
    expect(pump([{ reading: 'Flux', threshold: 5, ruleOutput: 'AlarmFlow' }], { type: 'numericString', min: 0, max: 10 })).toEqual({
      ok: false,
      error: [{ path: 'deviceTypes.0.rules.0.reading', message: '"Flux" is not a reading of Pump; expected one of Flow' }],
    });
  });

  it('lets a later source replace a type of the same name: the CRM\u2019s categories can be plugged in over the configuration\u2019s', () => {
    const layered = new DeviceTypeCatalog([{ name: 'configuration', deviceTypes: types.value.types.map((t) => t.definition) }]);
    layered.use({
      name: 'crm',
      deviceTypes: [{ name: 'PressureSensor', readings: ['Pressure'], commands: [{ name: 'Vent', parameters: {} }], defaultRules: [] }],
    });
    expect(layered.sourceOf('PressureSensor')).toBe('crm');
    expect(layered.check('PressureSensor', '{"CommandName":"Vent","Parameters":{}}').ok).toBe(true);
    expect(layered.check('PressureSensor', '{"CommandName":"Release Pressure","Parameters":{"Pressure":"300"}}').ok).toBe(false);
    expect(layered.sourceOf('Thermostat')).toBe('configuration');
  });

  it('answers any JSON with a value, never a throw: a typed refusal or device types', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => {
        const r = parseDeviceTypesDocument(doc);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('the automation document', () => {
  it('reads the demo policy and the pressure policy shipped with the CLI', () => {
    const demo = automationPolicyOf(examples('automation.demo.yaml'), catalog, 'Thermostat');
    expect(demo).toMatchObject({
      ok: true,
      value: {
        config: {
          rules: [
            {
              name: 'cool-down-on-AlarmTemp',
              when: { deviceType: 'Thermostat', ruleOutput: 'AlarmTemp' },
              actions: [{ kind: 'send-command', commandName: 'Set Values' }],
            },
          ],
        },
      },
    });
    const pressure = automationPolicyOf(examples('automation.pressure.yaml'), catalog, 'Thermostat');
    expect(pressure.ok && describeAutomationPolicy(pressure.value)[0]).toBe(
      'vent-on-AlarmPressure: deviceType=PressureSensor ruleOutput=AlarmPressure → command "Release Pressure" {"Pressure":"300"}, work order (Pressure relief valve check, High)',
    );
  });

  it('is none without a document: the alert record only', () => {
    const none = automationPolicyOf(undefined, catalog, 'Thermostat');
    expect(none).toEqual({ ok: true, value: { config: { rules: [] }, source: 'none' } });
    expect(none.ok && describeAutomationPolicy(none.value)).toEqual(['none: IoT alerts are recorded, nothing else runs (CFS out of the box)']);
  });

  it('maps every kind of action, the alert type by name', () => {
    const parsed = parseAutomationDocument(
      {
        rules: [
          {
            name: 'all',
            when: { alertType: 'PreventiveMaintenance' },
            actions: [{ case: { title: 'Look' } }, { workOrder: { priority: 'Low' } }, { notify: 'Hello' }, 'none'],
          },
        ],
      },
      catalog,
      'Thermostat',
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        rules: [
          {
            name: 'all',
            when: { alertType: AlertType.PreventiveMaintenance },
            actions: [
              { kind: 'create-case', title: 'Look' },
              { kind: 'create-work-order', priority: 'Low' },
              { kind: 'notify', message: 'Hello' },
              { kind: 'none' },
            ],
          },
        ],
      },
    });
  });

  it('refuses a command the category has not, a parameter out of its range, an unknown category and a repeated name, each with its path', () => {
    const parsed = parseAutomationDocument(
      {
        rules: [
          { name: 'a', when: { deviceType: 'PressureSensor' }, actions: [{ command: 'Set Values', parameters: { Reading: { Temperature: '65' } } }] },
          {
            name: 'b',
            when: { deviceType: 'Thermostat' },
            actions: [{ command: 'Set Values', parameters: { Reading: { Temperature: '{{device.settings.Target|1e308}}' } } }],
          },
          { name: 'c', when: { deviceType: 'Toaster' }, actions: [] },
          { name: 'a', actions: [] },
        ],
      },
      catalog,
      'Thermostat',
    );
    expect(parsed.ok).toBe(false);
    const issues = parsed.ok ? [] : parsed.error;
    expect(issues).toEqual(expect.arrayContaining([{ path: 'rules.3.name', message: expect.stringContaining('"a" names another rule too') }]));
    const more = parseAutomationDocument(
      {
        rules: [
          { name: 'a', when: { deviceType: 'PressureSensor' }, actions: [{ command: 'Set Values', parameters: { Reading: { Temperature: '65' } } }] },
          {
            name: 'b',
            when: { deviceType: 'Thermostat' },
            actions: [{ command: 'Set Values', parameters: { Reading: { Temperature: '{{device.settings.Target|1e308}}' } } }],
          },
          { name: 'c', when: { deviceType: 'Toaster' }, actions: [] },
        ],
      },
      catalog,
      'Thermostat',
    );
    expect(more.ok ? [] : more.error).toEqual([
      { path: 'rules.0.actions.0', message: expect.stringContaining('"Set Values" is not a command of PressureSensor') },
      { path: 'rules.1.actions.0', message: 'not a valid Thermostat command: Parameters.Reading.Temperature: expected at most 150' },
      { path: 'rules.2.when.deviceType', message: expect.stringContaining('"Toaster" is not a known device type') },
    ]);
  });

  it('answers any JSON with a value, never a throw', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => {
        const r = parseAutomationDocument(doc, catalog, 'Thermostat');
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('stops the start of a process with a bad document, naming the setting, the file and what is wrong', async () => {
    const bad = write('automation.yaml', 'rules:\n  - name: x\n    actions:\n      - command: Explode\n');
    const config = parseConfig({ automation: { file: bad } });
    if (!config.ok) throw new Error('config refused');
    const runtime = await createCombinedRuntime(config.value);
    expect(runtime).toEqual({
      ok: false,
      error: [
        {
          path: 'automation.file',
          source: bad,
          message: expect.stringContaining('rules.0.actions.0: not a valid Thermostat command: CommandName: "Explode" is not a command of Thermostat'),
        },
      ],
    });
    const unreadable = parseConfig({ deviceTypes: { file: join(dir, 'missing.yaml') } });
    if (!unreadable.ok) throw new Error('config refused');
    expect(await createCombinedRuntime(unreadable.value)).toEqual({
      ok: false,
      error: [{ path: 'deviceTypes.file', source: join(dir, 'missing.yaml'), message: '(file): cannot be read: ENOENT' }],
    });
  });
});
