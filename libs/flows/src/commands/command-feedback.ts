// Flows 16–19 (commands): the hub's delivery feedback onto the command record.
import type { CloudToDevicePort, CrmCommandsPort, DeliveryFeedback, FeedbackSubscription, LogPort } from '@fieldlink/ports';
import { commandOfMessage } from './command-message-id.js';
import { EarlyCommandReport, feedbackReason, writeReport } from './command-progress.js';

export interface CommandFeedbackDeps {
  readonly crm: CrmCommandsPort;
  readonly log: LogPort;
}

/**
 * The hub's delivery feedback → the command's state (correlated by the original message id, which
 * is the command id): Success → delivered; Expired → expired; Rejected → rejected;
 * DeliveryCountExceeded and Purged → failed, each with the CFS status kept in step (Sent / Error).
 * A command only moves forward, so repeated or late feedback changes nothing, and the write is
 * conditional on the state read (another writer's newer state is never overwritten); a CRM failure, or
 * feedback for a command not yet recorded as sent, rejects the batch, and the hub gives it again.
 * A command to all connected devices left under one message id per device (`broadcastMessageId`):
 * the first device's Success moves it on, and one device's failure is logged
 * (`command.device-failed`) without ending the command for the others.
 */
export class CommandFeedback {
  constructor(private readonly deps: CommandFeedbackDeps) {}

  subscribe(cloudToDevice: CloudToDevicePort): Promise<FeedbackSubscription> {
    return cloudToDevice.subscribeFeedback((batch) => this.handle(batch));
  }

  async handle(batch: readonly DeliveryFeedback[]): Promise<void> {
    for (const feedback of batch) await this.apply(feedback);
  }

  private async apply(feedback: DeliveryFeedback): Promise<void> {
    const { crm, log } = this.deps;
    const messageId = feedback.originalMessageId;
    const found = await commandOfMessage(crm, messageId, feedback.deviceId);
    if (found.kind === 'unknown') {
      // Not one of ours (another sender on the hub): nothing to update, and retrying cannot change that.
      log.warn('command.feedback-unknown', { commandId: messageId, deviceId: feedback.deviceId, status: feedback.status });
      return;
    }
    const command = found.command;
    const commandId = command.commandId;
    const fields = {
      correlationId: command.parentAlertId ?? commandId,
      commandId,
      deviceId: command.sendToAllConnectedDevices === true ? feedback.deviceId : command.deviceId,
      feedback: feedback.status,
    };
    if (found.kind === 'other-device') {
      log.warn('command.feedback-device-mismatch', { ...fields, deviceId: command.deviceId, feedbackDeviceId: feedback.deviceId, messageId });
      return;
    }
    if (command.sendToAllConnectedDevices === true && feedback.status !== 'Success') {
      if (command.state === 'requested') throw new EarlyCommandReport(commandId);
      log.warn('command.device-failed', { ...fields, messageId, reason: feedbackReason(feedback.status, feedback.description) });
      return;
    }
    const written = await writeReport(
      crm,
      commandId,
      command.state,
      { type: 'feedback', status: feedback.status },
      feedbackReason(feedback.status, feedback.description),
    );
    if (written.kind === 'early') throw new EarlyCommandReport(commandId);
    if (written.kind === 'past') {
      log.info('command.feedback-ignored', { ...fields, state: written.state });
      return;
    }
    log.info(`command.${written.state}`, fields);
  }
}
