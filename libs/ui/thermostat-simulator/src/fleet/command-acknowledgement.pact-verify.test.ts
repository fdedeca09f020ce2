// Provider side of the command acknowledgements: a real thermostat of the fleet, connected
// through the in-memory hub with the telemetry acknowledger, receives the state's command as a
// cloud-to-device message; the message is the CommandAck telemetry the hub then received from it.
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { InMemoryIotHub } from '@fieldlink/adapter-in-memory';
import type { TelemetryEnvelope, TelemetrySubscription } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { telemetryCommandAcknowledger } from './command-acknowledgement.js';
import { ThermostatFleet } from './thermostat-fleet.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-orchestrator-fieldlink-thermostat-simulator.json';

interface Scenario {
  readonly hub: InMemoryIotHub;
  readonly fleet: ThermostatFleet;
  readonly subscription: TelemetrySubscription;
  readonly received: TelemetryEnvelope[];
  readonly command: { deviceId: string; commandId: string; message: string };
}
let scenario: Scenario | undefined;

async function close(): Promise<void> {
  const s = scenario;
  scenario = undefined;
  if (s === undefined) return;
  await s.fleet.close();
  await s.subscription.close();
  await s.hub.close();
}

const stateHandlers = {
  'a thermostat received a command': async (params: unknown) => {
    await close();
    const command = params as Scenario['command'];
    const hub = new InMemoryIotHub({ partitionCount: 1 });
    await hub.registerDevices([{ deviceId: command.deviceId }]);
    const received: TelemetryEnvelope[] = [];
    const subscription = await hub.subscribe('telemetry', async (batch) => void received.push(...batch));
    const fleet = new ThermostatFleet({ deviceClient: hub, heartbeatIntervalMs: 0, random: () => 0.5, acknowledge: telemetryCommandAcknowledger() });
    const added = await fleet.addDevice(command.deviceId);
    if (!added.ok || added.value.connection !== 'connected') throw new Error(`provider state: thermostat ${command.deviceId} did not connect`);
    scenario = { hub, fleet, subscription, received, command };
    return undefined;
  },
};

/** Delivers the state's command to the thermostat and returns the acknowledgement it sent. */
async function acknowledgement(): Promise<unknown> {
  if (scenario === undefined) throw new Error('no provider state was set up');
  const { hub, received, command } = scenario;
  const sent = await hub.cloudToDevice.send({ messageId: command.commandId, deviceId: command.deviceId, body: new TextEncoder().encode(command.message) });
  if (!sent.ok) throw new Error(`the hub refused the command: ${sent.error.message}`);
  const isAck = (e: TelemetryEnvelope): boolean => e.properties?.['messageType'] === 'commandAck';
  const ack = await waitFor('the thermostat’s acknowledgement', () => received.find(isAck));
  return JSON.parse(new TextDecoder().decode(ack.body)) as unknown;
}

const messageProviders = {
  'an acknowledgement of an applied command': acknowledgement,
  'an acknowledgement of a refused command': acknowledgement,
};

describe('thermostat simulator honours the pact of the orchestrator: command acknowledgements (flows 16–19)', () => {
  afterEach(close);

  it(`answers every command of ${PACT_FILE} from its real fleet through the hub`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-orchestrator',
      provider: 'fieldlink-thermostat-simulator',
      pactFile: PACT_FILE,
      providerProject: 'ui-thermostat-simulator',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
