import type { ThresholdAlert } from '@fieldlink/domain';
import {
  decodeCfsAlertMessage,
  type DeadLetterDetails,
  type MessageQueuePort,
  type QueueMessage,
  type ReceivedQueueMessage,
  type ReceiveOptions,
} from '@fieldlink/ports';

/** Where the alerts that leave for the CRM are kept (the status database's `alerthistory`). */
export interface AlertHistoryWriter {
  /** Idempotent by event token, reading type and rule output: recording an alert again keeps one row. */
  record(alerts: readonly ThresholdAlert[]): Promise<void>;
}

/**
 * The alerts queue as stream processing sends to it, with every alert recorded in the alert history
 * first: when the process dies between the two, the batch is read again from the checkpoint, the
 * history keeps one row per alert and the queue's duplicate detection one message. A message that
 * is not a CFS alert message is sent as it is and recorded nowhere (the inbound flow dead-letters it).
 */
export class AlertHistoryRecordingQueue implements MessageQueuePort {
  constructor(
    private readonly queue: MessageQueuePort,
    private readonly history: AlertHistoryWriter,
  ) {}

  get name(): string {
    return this.queue.name;
  }

  async send(messages: readonly QueueMessage[]): Promise<void> {
    const alerts = messages.flatMap((m) => {
      const decoded = decodeCfsAlertMessage(m.body);
      return decoded.ok ? decoded.value.map((d) => d.alert) : [];
    });
    if (alerts.length > 0) await this.history.record(alerts);
    await this.queue.send(messages);
  }

  receive(options: ReceiveOptions): Promise<ReceivedQueueMessage[]> {
    return this.queue.receive(options);
  }

  complete(message: ReceivedQueueMessage): Promise<void> {
    return this.queue.complete(message);
  }

  abandon(message: ReceivedQueueMessage): Promise<void> {
    return this.queue.abandon(message);
  }

  deadLetter(message: ReceivedQueueMessage, details: DeadLetterDetails): Promise<void> {
    return this.queue.deadLetter(message, details);
  }

  renewLock(message: ReceivedQueueMessage): Promise<void> {
    return this.queue.renewLock(message);
  }

  peekDeadLetters(maxMessages: number): ReturnType<MessageQueuePort['peekDeadLetters']> {
    return this.queue.peekDeadLetters(maxMessages);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
