// Consumer side of flows 16–19: what a thermostat of the simulated fleet needs of the
// cloud-to-device commands the orchestrator sends. The examples are the CFS command payloads;
// command names and field names are CFS's and stay literal, numbers arrive as text.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryIotHub } from '@fieldlink/adapter-in-memory';
import type { DeliveryFeedback } from '@fieldlink/ports';
import { waitFor } from '@fieldlink/ports/testing';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { ThermostatFleet } from './thermostat-fleet.js';
import type { ThermostatView } from './thermostat-view.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { like, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../../contracts/pacts/', import.meta.url));
const NUMBER_AS_TEXT = '^-?\\d+(\\.\\d+)?$';
type CfsCommand = { CommandName: string; Parameters: Record<string, unknown> };
const fixture = JSON.parse(readFileSync(new URL('../../../../../fixtures/cfs/commands.json', import.meta.url), 'utf8')) as CfsCommand[];
const cfsCommand = (name: string): CfsCommand => fixture.find((c) => c.CommandName === name)!;
const DEVICE = 'thermostat-1';

const pact = new PactV4({ consumer: 'fieldlink-thermostat-simulator', provider: 'fieldlink-orchestrator', dir: PACTS, logLevel: 'error' });

/** A thermostat of the fleet, connected through the in-memory hub, receiving `body` as a cloud-to-device message. */
async function deliverToThermostat(body: unknown): Promise<{ view: ThermostatView; feedback: DeliveryFeedback[] }> {
  const hub = new InMemoryIotHub({ partitionCount: 1 });
  await hub.registerDevices([{ deviceId: DEVICE }]);
  const feedback: DeliveryFeedback[] = [];
  const subscription = await hub.cloudToDevice.subscribeFeedback(async (batch) => void feedback.push(...batch));
  const fleet = new ThermostatFleet({ deviceClient: hub, heartbeatIntervalMs: 0, random: () => 0.5 });
  try {
    await fleet.addDevice(DEVICE, { temperature: 75, humidity: 45, target: 62 });
    const sent = await hub.cloudToDevice.send({ messageId: 'command-1', deviceId: DEVICE, body: new TextEncoder().encode(JSON.stringify(body)) });
    expect(sent.ok).toBe(true);
    await waitFor('delivery feedback for the command', () => feedback[0]);
    return { view: fleet.get(DEVICE)!, feedback };
  } finally {
    await fleet.close();
    await subscription.close();
    await hub.close();
  }
}

describe('thermostat simulator ← orchestrator (flows 16–19)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-thermostat-simulator-fieldlink-orchestrator.json`, { force: true }));

  it('completes a Reset Thermostat command and goes back to its defaults', async () => {
    const command = cfsCommand('Reset Thermostat');
    await pact
      .addAsynchronousInteraction()
      .given('a command was requested for a thermostat', {
        deviceId: DEVICE,
        commandName: command.CommandName,
        parameters: command.Parameters as Record<string, string>,
      })
      .expectsToReceive('a Reset Thermostat command', (b) => b.withJSONContent({ CommandName: 'Reset Thermostat', Parameters: {} }))
      .executeTest(async (message) => {
        const { view, feedback } = await deliverToThermostat(message.contents.content);
        expect(view.lastCommand).toMatchObject({ name: 'Reset Thermostat', outcome: 'completed' });
        expect(view.temperature).toBe(75);
        expect(feedback).toMatchObject([{ originalMessageId: 'command-1', status: 'Success' }]);
      });
  });

  it('completes a Notification command and shows its message', async () => {
    const command = cfsCommand('Notification');
    const text = String(command.Parameters['Message']);
    await pact
      .addAsynchronousInteraction()
      .given('a command was requested for a thermostat', {
        deviceId: DEVICE,
        commandName: command.CommandName,
        parameters: command.Parameters as Record<string, string>,
      })
      .expectsToReceive('a Notification command', (b) => b.withJSONContent({ CommandName: 'Notification', Parameters: { Message: like(text) } }))
      .executeTest(async (message) => {
        const { view, feedback } = await deliverToThermostat(message.contents.content);
        expect(view.lastCommand).toMatchObject({ name: 'Notification', outcome: 'completed' });
        expect(view.lastNotification?.message).toBe(text);
        expect(feedback).toMatchObject([{ status: 'Success' }]);
      });
  });

  it('completes a Set Values command with numbers as text and heads for the new values', async () => {
    const command = cfsCommand('Set Values');
    const reading = (command.Parameters['Reading'] ?? {}) as { Temperature: string; Humidity: string };
    await pact
      .addAsynchronousInteraction()
      .given('a command was requested for a thermostat', { deviceId: DEVICE, commandName: command.CommandName, parameters: { Reading: reading } })
      .expectsToReceive('a Set Values command', (b) =>
        b.withJSONContent({
          CommandName: 'Set Values',
          Parameters: { Reading: { Temperature: regex(NUMBER_AS_TEXT, reading.Temperature), Humidity: regex(NUMBER_AS_TEXT, reading.Humidity) } },
        }),
      )
      .executeTest(async (message) => {
        const { view, feedback } = await deliverToThermostat(message.contents.content);
        expect(view.lastCommand).toMatchObject({ name: 'Set Values', outcome: 'completed' });
        expect(view.target).toBe(Number(reading.Temperature));
        expect(view.humidityTarget).toBe(Number(reading.Humidity));
        expect(feedback).toMatchObject([{ status: 'Success' }]);
      });
  });
});
