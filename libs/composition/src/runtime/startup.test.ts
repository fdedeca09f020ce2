import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { PartStartError } from './fieldlink-runtime.js';
import { describeStartOutcome, startWithin } from './startup.js';

const never = new Promise<never>(() => undefined);
const configOf = (env: Record<string, string>) => {
  const loaded = loadConfig({ env });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  return loaded.value;
};

describe('startWithin', () => {
  it('ends a start that hangs when the stop signal comes, without waiting for it', async () => {
    let signal!: (s: NodeJS.Signals) => void;
    const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signal = resolve));
    const outcome = startWithin(
      () => never,
      () => 'simulated-fleet',
      { timeoutMs: 0, stopRequested },
    );
    signal('SIGINT');
    expect(await outcome).toEqual({ kind: 'signal', signal: 'SIGINT' });
  });

  it('ends a start that hangs after the time limit, naming the part it waits for, and reports progress meanwhile', async () => {
    const waited: string[] = [];
    const outcome = await startWithin(
      () => never,
      () => 'command-feedback',
      { timeoutMs: 120, stopRequested: never, progressEveryMs: 20, onWaiting: (part) => waited.push(part!) },
    );
    expect(outcome).toEqual({ kind: 'timed-out', waitingFor: 'command-feedback' });
    expect(waited.length).toBeGreaterThan(0);
    expect(new Set(waited)).toEqual(new Set(['command-feedback']));
  });

  it('turns a part that fails into a value naming the part', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const outcome = await startWithin(
      () => Promise.reject(new PartStartError('simulated-fleet', cause)),
      () => undefined,
      { timeoutMs: 0, stopRequested: never },
    );
    expect(outcome).toEqual({ kind: 'failed', part: 'simulated-fleet', error: cause });
  });
});

describe('describeStartOutcome', () => {
  it('names the endpoint (user info hidden) and the setting and its variable of the part that failed, in one line', () => {
    const config = configOf({ FIELDLINK_PORTS_CRM: 'dataverse', FIELDLINK_DATAVERSE_URL: 'https://bob:hunter2@contoso.crm.dynamics.com/' });
    const cause = Object.assign(new Error('connect ECONNREFUSED https://bob:hunter2@contoso.crm.dynamics.com/\n    at somewhere'), { code: 'ECONNREFUSED' });
    const line = describeStartOutcome(config, { kind: 'failed', part: 'simulated-fleet', error: cause }, 'fieldlink up');
    expect(line).toBe(
      'fieldlink up: simulated-fleet could not start: connect ECONNREFUSED https://[redacted]@contoso.crm.dynamics.com/; check https://[redacted]@contoso.crm.dynamics.com/ (dataverse.url, FIELDLINK_DATAVERSE_URL)',
    );
  });

  it('names the IoT hub of the connection string, never its key', () => {
    const config = configOf({
      FIELDLINK_PORTS_CLOUD_TO_DEVICE: 'iot-hub',
      FIELDLINK_IOT_HUB_CONNECTION_STRING: 'HostName=hub.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey=c2VjcmV0',
    });
    const line = describeStartOutcome(
      config,
      { kind: 'failed', part: 'command-feedback', error: new Error('amqp:unauthorized SharedAccessKey=c2VjcmV0') },
      'orchestrator',
    );
    expect(line).toBe(
      'orchestrator: command-feedback could not start: amqp:unauthorized SharedAccessKey=[redacted]; check https://hub.azure-devices.net (iotHub.connectionString, FIELDLINK_IOT_HUB_CONNECTION_STRING)',
    );
  });
});
