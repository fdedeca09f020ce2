// Flows 16–19 (commands): the hub's delivery feedback onto the command record.
import type { CloudToDevicePort, CrmCommandsPort, DeliveryFeedback, FeedbackSubscription, LogPort } from '@fieldlink/ports';
import { commandOfMessage } from './command-message-id.js';
import { feedbackReason, redeliverWhenEarly, reportApplied, reportEarly, writeReport, type ReportApplied } from './command-progress.js';

export interface CommandFeedbackDeps {
  readonly crm: CrmCommandsPort;
  readonly log: LogPort;
}

/**
 * The hub's delivery feedback → the command's state (correlated by the original message id, which
 * is the command id): Success → delivered; Expired → expired; Rejected → rejected;
 * DeliveryCountExceeded and Purged → failed, each with the CFS status kept in step (Sent / Error).
 * A command only moves forward, so repeated or late feedback changes nothing, and the write is
 * conditional on the state read (another writer's newer state is never overwritten). Feedback for a
 * command not yet recorded as sent is early (`apply` answers `ReportBeforeSent`): the batch's
 * handler then rejects with `CommandReportDeferred`, as it does with a CRM failure, and the hub
 * gives the batch again. Feedback for a command the CRM does not hold is logged and settled.
 * A command to all connected devices left under one message id per device (`broadcastMessageId`):
 * the first device's Success moves it on, and one device's failure is logged
 * (`command.device-failed`) without ending the command for the others.
 */
export class CommandFeedback {
  constructor(private readonly deps: CommandFeedbackDeps) {}

  subscribe(cloudToDevice: CloudToDevicePort): Promise<FeedbackSubscription> {
    return cloudToDevice.subscribeFeedback((batch) => this.handle(batch));
  }

  /** The subscription's handler: applies the batch in order, and rejects to have it given again (see above). */
  async handle(batch: readonly DeliveryFeedback[]): Promise<void> {
    for (const feedback of batch) redeliverWhenEarly(await this.apply(feedback));
  }

  /** Applies one feedback record; the error is an early report, which changed nothing. */
  async apply(feedback: DeliveryFeedback): Promise<ReportApplied> {
    const { crm, log } = this.deps;
    const messageId = feedback.originalMessageId;
    const found = await commandOfMessage(crm, messageId, feedback.deviceId);
    if (found.kind === 'unknown') {
      // Not one of ours (another sender on the hub): nothing to update, and retrying cannot change that.
      log.warn('command.feedback-unknown', { commandId: messageId, deviceId: feedback.deviceId, status: feedback.status });
      return reportApplied;
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
      return reportApplied;
    }
    if (command.sendToAllConnectedDevices === true && feedback.status !== 'Success') {
      if (command.state === 'requested') return reportEarly(commandId);
      log.warn('command.device-failed', { ...fields, messageId, reason: feedbackReason(feedback.status, feedback.description) });
      return reportApplied;
    }
    const written = await writeReport(
      crm,
      commandId,
      command.state,
      { type: 'feedback', status: feedback.status },
      feedbackReason(feedback.status, feedback.description),
    );
    switch (written.kind) {
      case 'early':
        return reportEarly(commandId);
      case 'gone':
        // Removed from the CRM since it was read: nothing to update, and retrying cannot change that.
        log.warn('command.feedback-unknown', { ...fields, reason: 'no such command any more' });
        return reportApplied;
      case 'past':
        log.info('command.feedback-ignored', { ...fields, state: written.state });
        return reportApplied;
      case 'moved':
        log.info(`command.${written.state}`, fields);
        return reportApplied;
    }
  }
}
