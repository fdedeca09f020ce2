import type { DeviceConnection } from '@fieldlink/ports';

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
