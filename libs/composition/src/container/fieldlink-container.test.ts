import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@fieldlink/adapter-in-memory';
import { CommandFeedback } from '@fieldlink/flows';
import { silentLog, TOKENS, token, type LogPort, type StatusStorePort, type Token } from '@fieldlink/ports';
import { Container } from 'inversify';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { assemble, ROLE_PORTS } from '../runtime/fieldlink-runtime.js';
import type { PortName } from '../config/fieldlink-config.js';
import { APP_TOKENS } from './app-tokens.js';
import { bindingsModule, optional, resolveToken, resolveTokenIfBound } from './typed-bindings.js';

/*
 * Every binding of every profile resolves: the container of each role, on each profile, is
 * assembled (its adapters built, nothing started) and every token it binds is resolved, so a flow
 * whose dependency is missing or of the wrong kind fails here rather than at a process's start.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'fieldlink-container-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// Settings only: nothing here is reached, since nothing is started.
const nowhere = '127.0.0.1:9';
const key = 'bm90LWEtcmVhbC1rZXk=';
const PROFILES: Record<string, Record<string, string>> = {
  embedded: { FIELDLINK_PROFILE: 'embedded' },
  // The CRM on an organisation given by URL (an emulator run on its own), so no emulator starts in process.
  durable: { FIELDLINK_PROFILE: 'durable', FIELDLINK_STORAGE_DATA_DIR: dataDir, FIELDLINK_DATAVERSE_URL: `http://${nowhere}` },
  azure: {
    FIELDLINK_PROFILE: 'azure',
    FIELDLINK_EVENT_HUBS_CONNECTION_STRING: `Endpoint=sb://${nowhere}/;SharedAccessKeyName=k;SharedAccessKey=${key};EntityPath=telemetry`,
    FIELDLINK_SERVICE_BUS_CONNECTION_STRING: `Endpoint=sb://${nowhere}/;SharedAccessKeyName=k;SharedAccessKey=${key};UseDevelopmentEmulator=true`,
    FIELDLINK_IOT_HUB_CONNECTION_STRING: `HostName=contoso-iothub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
    FIELDLINK_BLOB_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://${nowhere}/devstoreaccount1;`,
    FIELDLINK_DATAVERSE_URL: `http://${nowhere}`,
  },
};

const SERVICES: readonly Token<unknown>[] = [
  APP_TOKENS.Config,
  APP_TOKENS.EventFeed,
  APP_TOKENS.CommandCatalog,
  APP_TOKENS.DeviceTypes,
  APP_TOKENS.AutomationPolicy,
];
const STREAM_PROCESSING = [APP_TOKENS.TelemetryIngest, APP_TOKENS.DeviceConnectionMonitor];
const ORCHESTRATION = [
  APP_TOKENS.CommandAcknowledgements,
  APP_TOKENS.CommandFeedback,
  APP_TOKENS.CommandDispatch,
  APP_TOKENS.CommandSweep,
  APP_TOKENS.CommandRequests,
  APP_TOKENS.AlertActions,
  APP_TOKENS.AlertAutomation,
  APP_TOKENS.InboundAlerts,
  APP_TOKENS.AlertsProcessor,
  APP_TOKENS.DeviceRegistrations,
  APP_TOKENS.DeviceDataPull,
  APP_TOKENS.OutboundMessages,
  APP_TOKENS.OutboundProcessor,
];
const ROLES: Record<string, { readonly ports: readonly PortName[]; readonly flows: readonly Token<unknown>[] }> = {
  'stream-processor': { ports: ROLE_PORTS['stream-processor'], flows: STREAM_PROCESSING },
  orchestrator: { ports: ROLE_PORTS.orchestrator, flows: ORCHESTRATION },
  combined: { ports: [...ROLE_PORTS['stream-processor'], ...ROLE_PORTS.orchestrator, 'deviceClient'], flows: [...STREAM_PROCESSING, ...ORCHESTRATION] },
};
const APP: readonly Token<unknown>[] = Object.values(APP_TOKENS);
const ALL_TOKENS: ReadonlyArray<readonly [string, Token<unknown>]> = [...Object.entries(TOKENS), ...Object.entries(APP_TOKENS)];

describe('the container of every profile', () => {
  for (const [profile, env] of Object.entries(PROFILES)) {
    for (const [role, { ports, flows }] of Object.entries(ROLES)) {
      it(`${profile} profile, ${role}: binds the services and flows of its role and resolves every binding`, async () => {
        const config = loadConfig({ env });
        if (!config.ok) throw new Error(JSON.stringify(config.error));
        const assembled = await assemble(config.value, [...new Set(ports)], { log: silentLog });
        if (!assembled.ok) throw new Error(JSON.stringify(assembled.error));
        const { container, adapters } = assembled.value;
        try {
          const bound = ALL_TOKENS.filter(([, t]) => container.isBound(t));
          expect(bound.map(([, t]) => t)).toEqual(expect.arrayContaining([...SERVICES, ...flows]));
          // A flow of the other role is bound only where this process has its ports.
          expect(bound.filter(([, t]) => APP.includes(t) && !SERVICES.includes(t) && !flows.includes(t))).toEqual([]);
          // Every port the role needs is bound, and every binding resolves to something, once (singletons).
          for (const port of ports) expect(container.isBound(TOKENS[portToken[port]]), port).toBe(true);
          for (const [name, t] of bound) {
            const value = resolveToken(container, t);
            expect(value, name).toBeDefined();
            expect(resolveToken(container, t), name).toBe(value);
          }
        } finally {
          await adapters.close();
        }
      });
    }
  }
});

const portToken: Record<PortName, keyof typeof TOKENS> = {
  telemetry: 'TelemetryIntake',
  alertsQueue: 'AlertsQueue',
  outboundQueue: 'OutboundQueue',
  crm: 'CrmGateway',
  deviceRegistry: 'DeviceRegistry',
  cloudToDevice: 'CloudToDevice',
  deviceClient: 'DeviceClient',
  referenceData: 'ReferenceData',
  statusStore: 'StatusStore',
  ruleStateStore: 'RuleStateStore',
};

describe('typed bindings', () => {
  it('gives a factory its dependencies by name, leaving out an optional one that is not bound', () => {
    const Seen = token<{ log: LogPort; statusStore?: StatusStorePort }>('test.Seen');
    const c = new Container();
    c.load(
      bindingsModule((b) => {
        b.value(TOKENS.Log, silentLog);
        b.factory(Seen, { log: TOKENS.Log, statusStore: optional(TOKENS.StatusStore) }, (deps) => deps);
      }),
    );
    const seen = resolveToken(c, Seen);
    expect(seen).toEqual({ log: silentLog });
    expect('statusStore' in seen).toBe(false);
    expect(resolveTokenIfBound(c, TOKENS.StatusStore)).toBeUndefined();
  });

  it('builds a factory once per container', () => {
    const Counted = token<{ readonly n: number }>('test.Counted');
    const c = new Container();
    let built = 0;
    c.load(bindingsModule((b) => b.factory(Counted, {}, () => ({ n: ++built }))));
    expect(resolveToken(c, Counted)).toBe(resolveToken(c, Counted));
    expect(built).toBe(1);
  });
});

/**
 * Bindings the compiler refuses: checked by the typecheck target, where each `@ts-expect-error`
 * fails the check if its line compiles. Never run.
 */
export function refusedBindings(): void {
  bindingsModule((b) => {
    // @ts-expect-error a clock is not a log
    b.value(TOKENS.Log, systemClock);
    // @ts-expect-error CommandFeedback takes a CRM, not a log, as its `crm`
    b.factory(APP_TOKENS.CommandFeedback, { crm: TOKENS.Log, log: TOKENS.Log }, (deps) => new CommandFeedback(deps));
    // @ts-expect-error the token names command feedback, not a queue processor
    b.factory(APP_TOKENS.CommandFeedback, { log: TOKENS.Log }, () => ({ start: async () => undefined }));
  });
}
