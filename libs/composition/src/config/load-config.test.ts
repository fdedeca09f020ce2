import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envNameOf, SETTINGS } from './config-settings.js';
import { fieldlinkConfigSchema } from './fieldlink-config.js';
import { formatConfigIssues, loadConfig } from './load-config.js';
import { redactConfig } from './redact-config.js';

const dir = mkdtempSync(join(tmpdir(), 'fieldlink-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('loadConfig', () => {
  it('is the embedded default when nothing is configured: every port in memory', () => {
    const result = loadConfig({ env: {} });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.values(result.value.ports).every((a) => a === 'in-memory')).toBe(true);
    expect(result.value).toMatchObject({
      profile: 'embedded',
      inMemory: { partitionCount: 4, maxDeliveryCount: 10 },
      serviceBus: { alertsQueue: 'alerts' },
      simulator: { devices: 10, drifting: 1 },
    });
  });

  it('reads a JSON file and a YAML file, and the environment overrides the file', () => {
    const json = file('a.json', JSON.stringify({ inMemory: { maxDeliveryCount: 3 }, simulator: { devices: 4 } }));
    const yaml = file('b.yaml', 'inMemory:\n  maxDeliveryCount: 5\nlog:\n  format: json\n');
    expect(loadConfig({ file: json, env: {} })).toMatchObject({ ok: true, value: { inMemory: { maxDeliveryCount: 3 }, simulator: { devices: 4 } } });
    expect(loadConfig({ file: yaml, env: {} })).toMatchObject({ ok: true, value: { inMemory: { maxDeliveryCount: 5 }, log: { format: 'json' } } });
    expect(loadConfig({ file: json, env: { FIELDLINK_IN_MEMORY_MAX_DELIVERY_COUNT: '7' } })).toMatchObject({
      ok: true,
      value: { inMemory: { maxDeliveryCount: 7 }, simulator: { devices: 4 } },
    });
  });

  it('renews the lock of a Service Bus message being handled for 5 minutes by default, and for none with 0', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ ok: true, value: { serviceBus: { maxAutoLockRenewalMs: 300_000 } } });
    expect(loadConfig({ env: { FIELDLINK_SERVICE_BUS_MAX_AUTO_LOCK_RENEWAL_MS: '0' } })).toMatchObject({
      ok: true,
      value: { serviceBus: { maxAutoLockRenewalMs: 0 } },
    });
    expect(loadConfig({ env: { FIELDLINK_SERVICE_BUS_MAX_AUTO_LOCK_RENEWAL_MS: '-1' } }).ok).toBe(false);
  });

  it('lets options override the environment', () => {
    expect(loadConfig({ env: { FIELDLINK_SIMULATOR_DEVICES: '3' }, overrides: { simulator: { devices: 2 } } })).toMatchObject({
      ok: true,
      value: { simulator: { devices: 2 } },
    });
  });

  it('refuses a wrong value with the path of the setting, where it came from, and what was expected', () => {
    const json = file('wrong.json', JSON.stringify({ inMemory: { lockDurationMs: 'soon' }, ports: { crm: 'salesforce' } }));
    const result = loadConfig({ file: json, env: { FIELDLINK_SIMULATOR_INTERVAL_MS: 'often' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual(
      expect.arrayContaining([
        { path: 'inMemory.lockDurationMs', source: 'file wrong.json', message: expect.stringContaining('expected') },
        { path: 'ports.crm', source: 'file wrong.json', message: 'expected one of "in-memory", "dataverse"' },
        { path: 'simulator.intervalMs', source: 'env FIELDLINK_SIMULATOR_INTERVAL_MS', message: expect.stringContaining('expected') },
      ]),
    );
    expect(formatConfigIssues(result.error)).toContain('configuration: ports.crm (file wrong.json): expected one of "in-memory", "dataverse"');
  });

  it('refuses an unknown setting by name, suggesting the one meant', () => {
    const json = file('typo.json', JSON.stringify({ inMemory: { maxDeliveryCuont: 3 } }));
    expect(loadConfig({ file: json, env: {} })).toEqual({
      ok: false,
      error: [{ path: 'inMemory.maxDeliveryCuont', source: 'file typo.json', message: 'is not a setting (did you mean inMemory.maxDeliveryCount?)' }],
    });
  });

  it('refuses a value out of range with the bound', () => {
    expect(loadConfig({ env: { FIELDLINK_DATAVERSE_MAX_CONCURRENCY: '100' } })).toEqual({
      ok: false,
      error: [{ path: 'dataverse.maxConcurrency', source: 'env FIELDLINK_DATAVERSE_MAX_CONCURRENCY', message: 'expected at most 52' }],
    });
  });

  it('refuses a missing setting that the chosen adapter needs, naming the environment variable to set', () => {
    const result = loadConfig({ env: { FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus', FIELDLINK_PORTS_OUTBOUND_QUEUE: 'service-bus' } });
    expect(result).toEqual({
      ok: false,
      error: [
        {
          path: 'serviceBus.connectionString',
          message: 'is required because ports.alertsQueue, ports.outboundQueue are "service-bus": set FIELDLINK_SERVICE_BUS_CONNECTION_STRING',
        },
      ],
    });
  });

  it('puts the Azure and Dynamics adapters on the ports for profile azure, and asks for every connection they need', () => {
    const result = loadConfig({ env: { FIELDLINK_PROFILE: 'azure' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((i) => i.path)).toEqual([
      'serviceBus.connectionString',
      'eventHubs.connectionString',
      'iotHub.connectionString',
      'blob.connectionString',
      'dataverse.url',
    ]);
  });

  it('reads secrets from the environment only, and never shows them in a dump', () => {
    const withSecret = file('secret.json', JSON.stringify({ serviceBus: { connectionString: 'Endpoint=sb://x/;SharedAccessKey=abc' } }));
    expect(loadConfig({ file: withSecret, env: {} })).toEqual({
      ok: false,
      error: [
        {
          path: 'serviceBus.connectionString',
          source: 'file secret.json',
          message: 'is a secret and is read from the environment only: remove it from the file and set FIELDLINK_SERVICE_BUS_CONNECTION_STRING',
        },
      ],
    });
    const secret = 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=k;SharedAccessKey=very-secret-key';
    const result = loadConfig({
      env: {
        FIELDLINK_PORTS_ALERTS_QUEUE: 'service-bus',
        FIELDLINK_SERVICE_BUS_CONNECTION_STRING: secret,
        FIELDLINK_DATAVERSE_CLIENT_SECRET: 'shh',
        FIELDLINK_DATAVERSE_TENANT_ID: 't',
        FIELDLINK_DATAVERSE_CLIENT_ID: 'c',
      },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.serviceBus.connectionString).toBe(secret);
    const dump = JSON.stringify(redactConfig(result.value));
    expect(dump).not.toContain('very-secret-key');
    expect(dump).not.toContain('shh');
    expect(dump).toContain('[redacted]');
  });

  it('hides the password of a URL setting in a dump (--show-config) and in an issue that quotes it', () => {
    const url = 'https://alice:s3cret-pass@contoso.crm.dynamics.com/';
    const result = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: url } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.dataverse.url).toBe(url);
    const dump = JSON.stringify(redactConfig(result.value));
    expect(dump).not.toContain('s3cret-pass');
    expect(dump).toContain('"url":"https://[redacted]@contoso.crm.dynamics.com/"');
    const refused = loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_EMBEDDED: 'true', FIELDLINK_DATAVERSE_URL: url } });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(formatConfigIssues(refused.error)).not.toContain('s3cret-pass');
  });

  it('asks for the whole client-secret credential when only part of it is given', () => {
    expect(loadConfig({ env: { FIELDLINK_DATAVERSE_CLIENT_ID: 'c' } })).toMatchObject({
      ok: false,
      error: [{ path: 'dataverse.tenantId' }, { path: 'dataverse.clientSecret' }],
    });
  });

  it('runs the Dataverse emulator in process for ports.crm dataverse without a URL on the embedded profile, and talks to the organisation when a URL is given', () => {
    expect(loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse' } })).toMatchObject({
      ok: true,
      value: { ports: { crm: 'dataverse' }, dataverse: { embedded: true } },
    });
    expect(loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'http://127.0.0.1:5555/' } })).toMatchObject({
      ok: true,
      value: { dataverse: { embedded: false, url: 'http://127.0.0.1:5555/' } },
    });
    expect(loadConfig({ env: { FIELDLINK_PROFILE: 'azure', FIELDLINK_DATAVERSE_EMBEDDED: 'true' } })).toMatchObject({
      ok: false,
      error: expect.not.arrayContaining([expect.objectContaining({ path: 'dataverse.url' })]),
    });
  });

  it('leaves alert enrichment to a Dataverse organisation (the emulator in process enriches as CFS does), does it in the orchestrator for the in-memory CRM, and takes an explicit choice over either', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ ok: true, value: { alerts: { enrichment: 'orchestrator' } } });
    expect(loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse' } })).toMatchObject({ ok: true, value: { alerts: { enrichment: 'organisation' } } });
    expect(loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'https://contoso.crm.dynamics.com' } })).toMatchObject({
      ok: true,
      value: { alerts: { enrichment: 'organisation' } },
    });
    expect(
      loadConfig({
        env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'https://contoso.crm.dynamics.com', FIELDLINK_ALERTS_ENRICHMENT: 'orchestrator' },
      }),
    ).toMatchObject({ ok: true, value: { alerts: { enrichment: 'orchestrator' } } });
    expect(loadConfig({ env: { FIELDLINK_ALERTS_ENRICHMENT: 'organisation' } })).toMatchObject({ ok: true, value: { alerts: { enrichment: 'organisation' } } });
    expect(loadConfig({ env: { FIELDLINK_ALERTS_ENRICHMENT: 'crm' } })).toEqual({
      ok: false,
      error: [{ path: 'alerts.enrichment', source: 'env FIELDLINK_ALERTS_ENRICHMENT', message: 'expected "orchestrator" or "organisation"' }],
    });
  });

  it('refuses dataverse.embedded with a URL, a missing URL when it is false, and a value that is not true or false', () => {
    expect(
      loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_EMBEDDED: 'TRUE', FIELDLINK_DATAVERSE_URL: 'http://127.0.0.1:5555/' } }),
    ).toEqual({
      ok: false,
      error: [
        {
          path: 'dataverse.embedded',
          source: 'env FIELDLINK_DATAVERSE_EMBEDDED',
          message: 'cannot be true with dataverse.url set: the CRM is either the emulator in this process or the organisation at http://127.0.0.1:5555/',
        },
      ],
    });
    expect(loadConfig({ env: { FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_EMBEDDED: 'false' } })).toEqual({
      ok: false,
      error: [
        {
          path: 'dataverse.url',
          message:
            'is required because ports.crm is "dataverse" and the emulator does not run in this process: set FIELDLINK_DATAVERSE_URL, or FIELDLINK_DATAVERSE_EMBEDDED=true for the emulator',
        },
      ],
    });
    expect(loadConfig({ env: { FIELDLINK_DATAVERSE_EMBEDDED: 'yes' } })).toEqual({
      ok: false,
      error: [{ path: 'dataverse.embedded', source: 'env FIELDLINK_DATAVERSE_EMBEDDED', message: 'expected true or false' }],
    });
  });

  it('refuses a misspelt FIELDLINK_* variable as it refuses an unknown key in a file, suggesting the closest variable', () => {
    expect(loadConfig({ env: { FIELDLINK_SIMULATOR_DEVICE: '25' } })).toEqual({
      ok: false,
      error: [
        {
          path: 'FIELDLINK_SIMULATOR_DEVICE',
          source: 'env',
          message: 'is not a setting (did you mean FIELDLINK_SIMULATOR_DEVICES, the variable of simulator.devices?)',
        },
      ],
    });
    expect(loadConfig({ env: { FIELDLINK_PORT_CRM: 'dataverse' } })).toEqual({
      ok: false,
      error: [{ path: 'FIELDLINK_PORT_CRM', source: 'env', message: 'is not a setting (did you mean FIELDLINK_PORTS_CRM, the variable of ports.crm?)' }],
    });
    expect(loadConfig({ env: { FIELDLINK_SOMETHING_ELSE_ENTIRELY: 'x' } })).toEqual({
      ok: false,
      error: [{ path: 'FIELDLINK_SOMETHING_ELSE_ENTIRELY', source: 'env', message: 'is not a setting' }],
    });
  });

  it('leaves alone the FIELDLINK_* variables read elsewhere by name, other variables, and an empty misspelt one', () => {
    const env = {
      FIELDLINK_CONFIG: '',
      FIELDLINK_CONSOLE_TOKEN: 'a-token-of-sixteen',
      FIELDLINK_SIMULATOR_TOKEN: 'a-token-of-sixteen',
      FIELDLINK_LIVE_IOTHUB_CONNECTION_STRING: 'x',
      FIELDLINK_CHROMIUM: '/usr/bin/chromium',
      PATH: '/bin',
      FIELDLINK_TYPO: '',
    };
    expect(loadConfig({ env }).ok).toBe(true);
  });

  it('reports every issue together: a secret in the file, an unknown key, a wrong value, an unknown variable and a value out of range', () => {
    const withAll = file(
      'all-wrong.json',
      JSON.stringify({ serviceBus: { connectionString: 'Endpoint=sb://x/;SharedAccessKey=abc' }, simulator: { devcies: 3, intervalMs: 'fast' } }),
    );
    const result = loadConfig({ file: withAll, env: { FIELDLINK_PORT_CRM: 'dataverse', FIELDLINK_DATAVERSE_MAX_CONCURRENCY: '100' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map((i) => `${i.path} (${i.source ?? ''})`).sort()).toEqual(
      [
        'serviceBus.connectionString (file all-wrong.json)',
        'FIELDLINK_PORT_CRM (env)',
        'simulator.devcies (file all-wrong.json)',
        'simulator.intervalMs (file all-wrong.json)',
        'dataverse.maxConcurrency (env FIELDLINK_DATAVERSE_MAX_CONCURRENCY)',
      ].sort(),
    );
    expect(JSON.stringify(result.error)).not.toContain('SharedAccessKey=abc');
  });

  it('says which file cannot be read or parsed', () => {
    expect(loadConfig({ file: join(dir, 'missing.json') })).toEqual({
      ok: false,
      error: [{ path: '(file)', source: 'file missing.json', message: 'cannot be read: ENOENT' }],
    });
    expect(loadConfig({ file: file('broken.json', '{"profile":') })).toMatchObject({
      ok: false,
      error: [{ path: '(file)', message: expect.stringContaining('is not valid JSON') }],
    });
  });

  it('documents every setting of the schema, each with its own environment variable', () => {
    const leaves = (schema: z.ZodType, prefix: string): string[] => {
      let s = schema;
      while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
      if (s instanceof z.ZodObject)
        return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leaves(v, prefix === '' ? k : `${prefix}.${k}`));
      return [prefix];
    };
    expect(SETTINGS.map((s) => s.path).sort()).toEqual(leaves(fieldlinkConfigSchema, '').sort());
    expect(new Set(SETTINGS.map((s) => envNameOf(s.path))).size).toBe(SETTINGS.length);
    expect(envNameOf('serviceBus.connectionString')).toBe('FIELDLINK_SERVICE_BUS_CONNECTION_STRING');
  });
});
