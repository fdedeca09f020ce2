// Flows 16–19 (commands): the device's answer to a command (CommandAck telemetry) onto the command record.
import { decodeJsonBody, type CrmCommandsPort, type LogPort, type RejectedTelemetryPort, type TelemetryEnvelope } from '@fieldlink/ports';
import { commandOfMessage } from './command-message-id.js';
import { redeliverWhenEarly, reportApplied, reportEarly, writeReport, type ReportApplied } from './command-progress.js';

/**
 * How a device answers a command: one device-to-cloud message on the ordinary telemetry stream
 * carrying a `CommandAck` field,
 * `{"DeviceID":"thermostat-1","EventToken":"<guid>","CommandAck":{"CommandId":"<command id>","Status":"Applied"}}`,
 * or `"Status":"Refused"` with a `"Reason"`. `CommandId` is the cloud-to-device message id the
 * device received. Telemetry was chosen over reported properties because it rides the stream the
 * stream processor already reads, in order with the readings that show the command's effect.
 */
export interface CommandAck {
  readonly commandId: string;
  readonly status: 'Applied' | 'Refused';
  readonly reason?: string;
}

export const COMMAND_ACK_FIELD = 'CommandAck';

/** The `CommandAck` of a message, undefined when it has none, or what is wrong with it. */
export function readCommandAck(message: unknown): { ok: true; ack: CommandAck | undefined } | { ok: false; error: string } {
  if (typeof message !== 'object' || message === null || !(COMMAND_ACK_FIELD in message)) return { ok: true, ack: undefined };
  const raw = (message as Record<string, unknown>)[COMMAND_ACK_FIELD];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: `${COMMAND_ACK_FIELD}: expected an object` };
  const { CommandId, Status, Reason } = raw as Record<string, unknown>;
  if (typeof CommandId !== 'string' || CommandId === '') return { ok: false, error: `${COMMAND_ACK_FIELD}.CommandId: expected the command id` };
  if (Status !== 'Applied' && Status !== 'Refused') return { ok: false, error: `${COMMAND_ACK_FIELD}.Status: expected "Applied" or "Refused"` };
  if (Reason !== undefined && typeof Reason !== 'string') return { ok: false, error: `${COMMAND_ACK_FIELD}.Reason: expected text` };
  return { ok: true, ack: { commandId: CommandId, status: Status, ...(Reason === undefined ? {} : { reason: Reason }) } };
}

/** What a device puts in its telemetry to answer a command. */
export const commandAckField = (ack: CommandAck): Record<string, unknown> => ({
  [COMMAND_ACK_FIELD]: { CommandId: ack.commandId, Status: ack.status, Reason: ack.reason },
});

export interface CommandAcknowledgementsDeps {
  readonly crm: CrmCommandsPort;
  readonly rejected: RejectedTelemetryPort;
  readonly log: LogPort;
}

/**
 * The device's answer → the command's state: Applied → acknowledged, Refused → rejected with the
 * device's reason. Only the device a command was sent to may answer it, under the message id it
 * received (for a command to all connected devices, its own `broadcastMessageId`: the first
 * device's Applied moves the command on, one device's Refused is logged without ending it). Messages without a
 * `CommandAck` are ordinary telemetry and pass by; a malformed or foreign answer is kept as
 * rejected telemetry with its reason. Repeated answers change nothing (a command only moves
 * forward, and the write is conditional on the state read, so the hub's feedback landing in
 * between is decided again, never overwritten). An answer about a command not yet recorded as
 * sent is early (`handle` answers `ReportBeforeSent`): the batch's handler then rejects with
 * `CommandReportDeferred`, as it does with a CRM failure, so the intake gives the batch again.
 */
export class CommandAcknowledgements {
  constructor(private readonly deps: CommandAcknowledgementsDeps) {}

  /** The subscription's handler: handles the batch in order, and rejects to have it given again (see above). */
  async handleBatch(batch: readonly TelemetryEnvelope[]): Promise<void> {
    for (const envelope of batch) redeliverWhenEarly(await this.handle(envelope));
  }

  /** Handles one message; the error is an early answer, which changed nothing. */
  async handle(envelope: TelemetryEnvelope): Promise<ReportApplied> {
    const json = decodeJsonBody(envelope.body);
    if (!json.ok) return reportApplied; // not JSON: telemetry ingest keeps it with the reason
    const read = readCommandAck(json.value);
    if (!read.ok) return this.reject(envelope, 'InvalidCommandAck', read.error);
    if (read.ack === undefined) return reportApplied;
    const { crm, log } = this.deps;
    const ack = read.ack;
    const found = await commandOfMessage(crm, ack.commandId, envelope.connectionDeviceId);
    if (found.kind === 'unknown') return this.reject(envelope, 'UnknownCommand', `${COMMAND_ACK_FIELD}.CommandId: no command ${ack.commandId}`);
    const command = found.command;
    if (found.kind === 'other-device')
      return this.reject(
        envelope,
        'CommandOfAnotherDevice',
        command.sendToAllConnectedDevices === true
          ? `command ${ack.commandId} was not sent to ${envelope.connectionDeviceId} under this message id`
          : `command ${ack.commandId} was sent to ${command.deviceId}, not to ${envelope.connectionDeviceId}`,
      );
    const fields = {
      correlationId: command.parentAlertId ?? command.commandId,
      commandId: command.commandId,
      deviceId: envelope.connectionDeviceId,
      status: ack.status,
    };
    if (command.sendToAllConnectedDevices === true && ack.status === 'Refused') {
      // One device's refusal does not end a command the other devices may have applied.
      if (command.state === 'requested') return reportEarly(command.commandId);
      log.warn('command.device-failed', {
        ...fields,
        messageId: ack.commandId,
        reason: `Refused by the device${ack.reason === undefined ? '' : `: ${ack.reason}`}`,
      });
      return reportApplied;
    }
    // A refusal means what the hub's Rejected feedback means; the device's reason goes with it.
    const report = ack.status === 'Applied' ? ({ type: 'acknowledged' } as const) : ({ type: 'feedback', status: 'Rejected' } as const);
    const reason = ack.status === 'Applied' ? 'Acknowledged by the device' : `Refused by the device${ack.reason === undefined ? '' : `: ${ack.reason}`}`;
    const written = await writeReport(crm, command.commandId, command.state, report, reason);
    switch (written.kind) {
      case 'early':
        return reportEarly(command.commandId);
      case 'gone':
        // Removed from the CRM since it was read: kept as rejected telemetry, as an answer to an unknown command is.
        return this.reject(envelope, 'UnknownCommand', `${COMMAND_ACK_FIELD}.CommandId: no command ${ack.commandId}`);
      case 'past':
        log.info('command.ack-ignored', { ...fields, state: written.state });
        return reportApplied;
      case 'moved':
        // An answer proves delivery: when it overtook the hub's feedback, the delivered step is logged too, as the feedback would have.
        if (written.from === 'sent' && written.state === 'acknowledged') log.info('command.delivered', { ...fields, by: 'acknowledgement' });
        log.info(`command.${written.state}`, fields);
        return reportApplied;
    }
  }

  private async reject(envelope: TelemetryEnvelope, reason: string, description: string): Promise<ReportApplied> {
    await this.deps.rejected.reject({ envelope, reason, description });
    this.deps.log.warn('command.ack-rejected', { deviceId: envelope.connectionDeviceId, reason, description });
    return reportApplied;
  }
}
