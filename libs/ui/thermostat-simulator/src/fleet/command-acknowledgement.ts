import { randomUUID } from 'node:crypto';
import { commandAckField } from '@fieldlink/flows';
import { encodeJsonBody, type DeviceConnection } from '@fieldlink/ports';

/** What a thermostat did with one cloud-to-device command. */
export interface CommandAnswer {
  readonly deviceId: string;
  /** The cloud-to-device message id (the hub's feedback correlates on it too). */
  readonly messageId: string;
  readonly correlationId?: string;
  readonly commandName?: string;
  readonly outcome: 'completed' | 'rejected';
  readonly reason?: string;
  /** Epoch ms. */
  readonly at: number;
}

/**
 * How a device tells the cloud that it acted on a command, beyond the hub's delivery feedback
 * (which only says the message reached the device). Called before the message is settled.
 */
export type CommandAcknowledger = (connection: DeviceConnection, answer: CommandAnswer) => Promise<void>;

/** Delivery feedback only (complete → Success, reject → Rejected): what a plain CFS device does. */
export const feedbackOnlyAcknowledger: CommandAcknowledger = async () => undefined;

/**
 * The Fieldlink answer (see CommandAcknowledgements in @fieldlink/flows): one device-to-cloud
 * message on the telemetry stream, `{"DeviceID","EventToken","CommandAck":{"CommandId","Status","Reason"}}`,
 * Applied for a completed command and Refused, with the reason, for a rejected one.
 */
export const telemetryCommandAcknowledger =
  (newEventToken: () => string = randomUUID): CommandAcknowledger =>
  async (connection, answer) => {
    const ack = commandAckField({
      commandId: answer.messageId,
      status: answer.outcome === 'completed' ? 'Applied' : 'Refused',
      ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    });
    await connection.sendTelemetry(encodeJsonBody({ DeviceID: answer.deviceId, EventToken: newEventToken(), ...ack }), { messageType: 'commandAck' });
  };
