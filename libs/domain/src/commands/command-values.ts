/** `msdyn_commandstatus`: all CFS knows of a command. */
export const CfsCommandStatus = { InProgress: 192350000, Sent: 192350001, Error: 192350002 } as const;
export type CfsCommandStatus = (typeof CfsCommandStatus)[keyof typeof CfsCommandStatus];

/**
 * The whole way of a command, further than CFS follows it: requested → sent → delivered (hub
 * feedback Success) → acknowledged (the device answered), or one of the failed ends.
 */
export type CommandState = 'requested' | 'sent' | 'delivered' | 'acknowledged' | 'expired' | 'rejected' | 'failed';

/** IoT Hub cloud-to-device feedback status codes. */
export type DeliveryFeedbackStatus = 'Success' | 'Expired' | 'DeliveryCountExceeded' | 'Rejected' | 'Purged';

/** A command payload (`msdyn_message`): `{"CommandName":"Set Values","Parameters":{...}}`. */
export interface CommandPayload {
  readonly CommandName: string;
  readonly Parameters: Readonly<Record<string, unknown>>;
}

export const COMMAND_MESSAGE_MAX = 8192;
