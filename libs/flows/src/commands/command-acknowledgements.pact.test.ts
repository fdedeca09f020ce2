// Consumer side of the device's answer to a command (flows 16–19, status back to the command
// record): what the orchestrator's command acknowledgements need of the CommandAck telemetry a
// thermostat sends after it applied or refused a command.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryCrm, InMemoryRejectedTelemetry, SequentialIds } from '@fieldlink/adapter-in-memory';
import { CfsCommandStatus, HUB_DEVICE_ID_PATTERN } from '@fieldlink/domain';
import { silentLog } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { CommandAcknowledgements } from './command-acknowledgements.js';
import { commandStatusUpdate } from './command-progress.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { like, regex, uuid } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const DEVICE = 'thermostat-1';
const COMMAND_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';

const pact = new PactV4({ consumer: 'fieldlink-orchestrator', provider: 'fieldlink-thermostat-simulator', dir: PACTS, logLevel: 'error' });

/** The CRM with a command that was sent to the device, and the acknowledgements flow reading the device's telemetry. */
async function sentCommand(message: string) {
  const crm = new InMemoryCrm(new SequentialIds('rec'));
  const rejected = new InMemoryRejectedTelemetry();
  await crm.createCommand({ commandId: COMMAND_ID, name: JSON.parse(message).CommandName as string, message, deviceId: DEVICE });
  await crm.updateCommandStatus(COMMAND_ID, commandStatusUpdate('sent', 'Sent to the device'));
  const acks = new CommandAcknowledgements({ crm, rejected, log: silentLog });
  const receive = (content: unknown) =>
    acks.handle({ body: new TextEncoder().encode(JSON.stringify(content)), connectionDeviceId: DEVICE, enqueuedTime: 0, partitionId: '0', sequenceNumber: 1 });
  return { crm, rejected, receive };
}

describe('orchestrator ← thermostat simulator: command acknowledgements (flows 16–19)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-orchestrator-fieldlink-thermostat-simulator.json`, { force: true }));

  it('marks the command acknowledged when the device says Applied', async () => {
    const command = '{"CommandName":"Reset Thermostat","Parameters":{}}';
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat received a command', { deviceId: DEVICE, commandId: COMMAND_ID, message: command })
      .expectsToReceive('an acknowledgement of an applied command', (b) =>
        b.withJSONContent({
          DeviceID: regex(HUB_DEVICE_ID_PATTERN.source, DEVICE),
          EventToken: uuid('6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01'),
          CommandAck: { CommandId: like(COMMAND_ID), Status: 'Applied' },
        }),
      )
      .executeTest(async (message) => {
        const { crm, rejected, receive } = await sentCommand(command);
        await receive(message.contents.content);
        expect(await rejected.list(10)).toEqual([]);
        expect(await crm.getCommand(COMMAND_ID)).toMatchObject({ state: 'acknowledged', cfsStatus: CfsCommandStatus.Sent });
      });
  });

  it('marks the command rejected with the device reason when the device says Refused', async () => {
    const command = '{"CommandName":"Set Values","Parameters":{"Reading":{"Humidity":"250"}}}';
    await pact
      .addAsynchronousInteraction()
      .given('a thermostat received a command', { deviceId: DEVICE, commandId: COMMAND_ID, message: command })
      .expectsToReceive('an acknowledgement of a refused command', (b) =>
        b.withJSONContent({
          DeviceID: regex(HUB_DEVICE_ID_PATTERN.source, DEVICE),
          EventToken: uuid('6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01'),
          CommandAck: { CommandId: like(COMMAND_ID), Status: 'Refused', Reason: like('Parameters.Reading.Humidity: expected a percentage from 0 to 100') },
        }),
      )
      .executeTest(async (message) => {
        const { crm, rejected, receive } = await sentCommand(command);
        await receive(message.contents.content);
        expect(await rejected.list(10)).toEqual([]);
        const stored = await crm.getCommand(COMMAND_ID);
        expect(stored).toMatchObject({ state: 'rejected', cfsStatus: CfsCommandStatus.Error });
        expect(stored?.statusReason).toContain('Parameters.Reading.Humidity: expected a percentage from 0 to 100');
      });
  });
});
