import type { CloudToDevicePort, CrmGatewayPort, DeliveryFeedback, FeedbackSubscription, LogPort } from '@fieldlink/ports';
import { commandStatusUpdate, EarlyCommandReport, feedbackReason, progressOf } from './command-progress.js';

export interface CommandFeedbackDeps {
  readonly crm: CrmGatewayPort;
  readonly log: LogPort;
}

/**
 * The hub's delivery feedback → the command's state (correlated by the original message id, which
 * is the command id): Success → delivered; Expired → expired; Rejected → rejected;
 * DeliveryCountExceeded and Purged → failed, each with the CFS status kept in step (Sent / Error).
 * A command only moves forward, so repeated or late feedback changes nothing; a CRM failure, or
 * feedback for a command not yet recorded as sent, rejects the batch, and the hub gives it again.
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
    const commandId = feedback.originalMessageId;
    const command = await crm.getCommand(commandId);
    if (command === undefined) {
      // Not one of ours (another sender on the hub): nothing to update, and retrying cannot change that.
      log.warn('command.feedback-unknown', { commandId, deviceId: feedback.deviceId, status: feedback.status });
      return;
    }
    const fields = { correlationId: command.parentAlertId ?? commandId, commandId, deviceId: command.deviceId, feedback: feedback.status };
    if (command.deviceId !== feedback.deviceId) {
      log.warn('command.feedback-device-mismatch', { ...fields, feedbackDeviceId: feedback.deviceId });
      return;
    }
    const progress = progressOf(command.state, { type: 'feedback', status: feedback.status });
    if (progress.kind === 'early') throw new EarlyCommandReport(commandId);
    if (progress.kind === 'past') {
      log.info('command.feedback-ignored', { ...fields, state: command.state });
      return;
    }
    await crm.updateCommandStatus(commandId, commandStatusUpdate(progress.state, feedbackReason(feedback.status, feedback.description)));
    log.info(`command.${progress.state}`, fields);
  }
}
