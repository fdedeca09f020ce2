/**
 * Structured events from the flows. `correlationId` follows one reading to its alert, its
 * command and the device's answer. Implementations must never be handed secrets.
 */
export interface LogFields {
  readonly correlationId?: string | undefined;
  readonly [field: string]: unknown;
}

export interface LogPort {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export const silentLog: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };
