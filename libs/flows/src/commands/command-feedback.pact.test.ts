// Consumer side of the hub's delivery feedback (flows 16–19): what the orchestrator needs of a
// feedback message from the hub's `/messages/servicebound/feedback` endpoint, a JSON array of
// records correlated by the original message id (the command id). The body goes through the
// feedback decoder the adapters use and into the real command feedback flow.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InMemoryCrm, SequentialIds } from '@fieldlink/adapter-in-memory';
import { CfsCommandStatus, HUB_DEVICE_ID_PATTERN } from '@fieldlink/domain';
import { decodeDeliveryFeedback, silentLog } from '@fieldlink/ports';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { beforeAll, describe, expect, it } from 'vitest';
import { CommandFeedback } from './command-feedback.js';
import { commandStatusUpdate } from './command-progress.js';

// Pact's core sends usage metrics unless told not to; tests never phone home.
process.env['PACT_DO_NOT_TRACK'] = 'true';

const { eachLike, equal, like, regex } = MatchersV3;
const PACTS = fileURLToPath(new URL('../../../../contracts/pacts/', import.meta.url));
const DEVICE = 'thermostat-1';
const COMMAND_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
const COMMAND_BODY = '{"CommandName":"Reset Thermostat","Parameters":{}}';
const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';

const pact = new PactV4({ consumer: 'fieldlink-orchestrator', provider: 'azure-iot-hub', dir: PACTS, logLevel: 'error' });

describe('orchestrator ← IoT hub: delivery feedback (flows 16–19)', () => {
  beforeAll(() => rmSync(`${PACTS}fieldlink-orchestrator-azure-iot-hub.json`, { force: true }));

  // The hub writes one record per settled message; statusCode is pinned by value (a type match
  // would let any status through), the rest by shape, as the hub's records vary.
  const feedbackRecord = (statusCode: string, description: string) =>
    eachLike({
      originalMessageId: like(COMMAND_ID),
      deviceId: regex(HUB_DEVICE_ID_PATTERN.source, DEVICE),
      deviceGenerationId: like('638000000000000000'),
      statusCode: equal(statusCode),
      description: like(description),
      enqueuedTimeUtc: regex(ISO_DATE_TIME, '2026-11-28T09:16:00.000Z'),
    });

  /** Runs the real decoder and feedback flow on the pact's message for a command already sent. */
  const applyToSentCommand = async (content: unknown) => {
    const crm = new InMemoryCrm(new SequentialIds('rec'));
    await crm.createCommand({ commandId: COMMAND_ID, name: 'Reset Thermostat', message: COMMAND_BODY, deviceId: DEVICE });
    await crm.updateCommandStatus(COMMAND_ID, commandStatusUpdate('sent', 'Sent to the device'));
    const decoded = decodeDeliveryFeedback(new TextEncoder().encode(JSON.stringify(content)));
    expect(decoded.ok, decoded.ok ? '' : JSON.stringify(decoded.error)).toBe(true);
    if (decoded.ok) await new CommandFeedback({ crm, log: silentLog }).handle(decoded.value);
    return crm.getCommand(COMMAND_ID);
  };

  it('marks a sent command delivered when the hub reports Success for its message id', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a device completed a cloud-to-device command', { deviceId: DEVICE, messageId: COMMAND_ID, body: COMMAND_BODY })
      .expectsToReceive('delivery feedback for a command', (b) => b.withJSONContent(feedbackRecord('Success', 'Success')))
      .executeTest(async (message) => {
        expect(await applyToSentCommand(message.contents.content)).toMatchObject({ state: 'delivered', cfsStatus: CfsCommandStatus.Sent });
      });
  });

  it('marks a sent command rejected when the hub reports Rejected for its message id', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('a device rejected a cloud-to-device command', { deviceId: DEVICE, messageId: COMMAND_ID, body: COMMAND_BODY })
      .expectsToReceive('rejection feedback for a command', (b) => b.withJSONContent(feedbackRecord('Rejected', 'Message rejected')))
      .executeTest(async (message) => {
        expect(await applyToSentCommand(message.contents.content)).toMatchObject({
          state: 'rejected',
          statusReason: 'The device rejected it (Message rejected)',
        });
      });
  });
});
