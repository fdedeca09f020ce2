// Provider side of flows 16–19: the orchestrator's real command requests and dispatch send each
// command of the thermostat's pact through the in-memory hub. A provider state records a real
// `msdyn_iotdevicecommand` (requested, not yet sent) for a registered, connected device; the
// message is the cloud-to-device body the device received.
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { InMemoryCrm, InMemoryIotHub, SequentialIds } from '@fieldlink/adapter-in-memory';
import { BUILT_IN_DEVICE_TYPES } from '@fieldlink/domain';
import { silentLog, type DeviceConnection } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceTypeCommandCatalog } from './command-catalog.js';
import { CommandDispatch } from './command-dispatch.js';
import { CommandRequests } from './command-requests.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-thermostat-simulator-fieldlink-orchestrator.json';

interface Scenario {
  readonly dispatch: CommandDispatch;
  readonly received: Uint8Array[];
  readonly close: () => Promise<void>;
}
let scenario: Scenario | undefined;

const stateHandlers = {
  'a command was requested for a thermostat': async (params: unknown) => {
    const p = params as { deviceId: string; commandName: string; parameters: Record<string, unknown> };
    await scenario?.close();
    const hub = new InMemoryIotHub({ partitionCount: 1 });
    await hub.registerDevices([{ deviceId: p.deviceId }]);
    const connection: DeviceConnection = await hub.connect(p.deviceId);
    const received: Uint8Array[] = [];
    connection.onCloudToDeviceMessage(async (m) => {
      received.push(m.body);
      return 'complete';
    });
    const crm = new InMemoryCrm(new SequentialIds('record'));
    const catalog = deviceTypeCommandCatalog(BUILT_IN_DEVICE_TYPES);
    const requested = await new CommandRequests({ crm, catalog, log: silentLog, defaultDeviceType: 'Thermostat' }).request({
      deviceId: p.deviceId,
      commandName: p.commandName,
      parameters: p.parameters,
    });
    if (!requested.ok) throw new Error(`provider state: ${requested.error.message}`);
    scenario = {
      dispatch: new CommandDispatch({ crm, cloudToDevice: hub.cloudToDevice, registry: hub, catalog, log: silentLog, defaultDeviceType: 'Thermostat' }),
      received,
      close: () => hub.close(),
    };
    return undefined;
  },
};

async function dispatchedBody(): Promise<unknown> {
  if (scenario === undefined) throw new Error('no provider state was set up');
  const s = scenario;
  const outcomes = await s.dispatch.dispatchRequested();
  if (outcomes.length !== 1 || outcomes[0]!.kind !== 'sent') throw new Error(`dispatch did not send the command: ${JSON.stringify(outcomes)}`);
  const body = await waitFor('the command at the device', () => s.received[0]);
  return JSON.parse(new TextDecoder().decode(body)) as unknown;
}

const messageProviders = {
  'a Reset Thermostat command': dispatchedBody,
  'a Notification command': dispatchedBody,
  'a Set Values command': dispatchedBody,
};

describe('orchestrator honours the pact of the thermostat (flows 16–19)', () => {
  afterEach(async () => {
    await scenario?.close();
    scenario = undefined;
  });

  it(`sends every command of ${PACT_FILE} from its real command requests and dispatch`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-thermostat-simulator',
      provider: 'fieldlink-orchestrator',
      pactFile: PACT_FILE,
      providerProject: 'flows',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
