// Provider side of flows 1–2: the real thermostat fleet, connected through the in-memory IoT hub,
// sends each message of the stream processor's pact. Provider states set up real thermostats
// (registered in the hub, with the state's readings); the message is what the hub received.
import { verifyAndRecord } from '@fieldlink/contracts/testing';
import { InMemoryIotHub } from '@fieldlink/adapter-in-memory';
import type { TelemetryEnvelope } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ThermostatFleet } from './thermostat-fleet.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const PACT_FILE = 'fieldlink-stream-processor-fieldlink-thermostat-simulator.json';

interface Scenario {
  readonly hub: InMemoryIotHub;
  readonly fleet: ThermostatFleet;
  readonly deviceId: string;
  readonly received: TelemetryEnvelope[];
  readonly close: () => Promise<void>;
}
let scenario: Scenario | undefined;

/** A hub with the device registered, the fleet's thermostat connected to it, and a reader of what the hub receives. */
async function thermostat(deviceId: string, values: { temperature?: number; humidity?: number }): Promise<Scenario> {
  await scenario?.close();
  const hub = new InMemoryIotHub({ partitionCount: 1 });
  await hub.registerDevices([{ deviceId }]);
  const received: TelemetryEnvelope[] = [];
  const subscription = await hub.subscribe('telemetry', async (batch) => void received.push(...batch));
  const fleet = new ThermostatFleet({ deviceClient: hub, heartbeatIntervalMs: 0, random: () => 0.5 });
  const added = await fleet.addDevice(deviceId, { ...values, driftPerMinute: 0 });
  if (!added.ok || added.value.connection !== 'connected') throw new Error(`provider state: thermostat ${deviceId} did not connect`);
  return {
    hub,
    fleet,
    deviceId,
    received,
    close: async () => {
      await fleet.close();
      await subscription.close();
      await hub.close();
    },
  };
}

const stateHandlers = {
  'a thermostat reads a temperature and humidity': async (params: unknown) => {
    const p = params as { deviceId: string; temperature: number; humidity: number };
    scenario = await thermostat(p.deviceId, { temperature: p.temperature, humidity: p.humidity });
    return undefined;
  },
  'a thermostat is connected': async (params: unknown) => {
    scenario = await thermostat((params as { deviceId: string }).deviceId, {});
    return undefined;
  },
};

/** The body of the one message the hub received since the state was set up. */
async function receivedBody(send: (s: Scenario) => Promise<unknown>): Promise<unknown> {
  if (scenario === undefined) throw new Error('no provider state was set up');
  const s = scenario;
  const before = s.received.length;
  await send(s);
  const envelope = await waitFor('a message from the thermostat at the hub', () => s.received[before]);
  return JSON.parse(new TextDecoder().decode(envelope.body)) as unknown;
}

const messageProviders = {
  'a thermostat reading': () => receivedBody((s) => s.fleet.sendReading(s.deviceId)),
  'a thermostat heartbeat': () => receivedBody((s) => s.fleet.sendHeartbeats()),
};

describe('thermostat simulator honours the pact of the stream processor (flows 1–2)', () => {
  afterEach(async () => {
    await scenario?.close();
    scenario = undefined;
  });

  it(`sends every message of ${PACT_FILE} from its real fleet through the hub`, async () => {
    const summary = await verifyAndRecord({
      consumer: 'fieldlink-stream-processor',
      provider: 'fieldlink-thermostat-simulator',
      pactFile: PACT_FILE,
      providerProject: 'ui-thermostat-simulator',
      options: { stateHandlers, messageProviders },
    });
    expect(summary.interactionResults.length).toBeGreaterThan(0);
    expect(summary.result, summary.failure).toBe(true);
  });
});
