import { FieldlinkError } from '@fieldlink/domain';

/**
 * Why an SQL adapter call failed, where the port has no error class of its own for it. Each is
 * an infrastructure failure: a start stops on it, a flow retries what it was doing.
 */
export type SqlAdapterErrorCode =
  /** A connection string the adapter cannot use (no server, no user, a port that is no number). */
  | 'Misconfigured'
  /** The schema could not be brought to the current version. */
  | 'MigrationFailed'
  /** A stored value that cannot be read back (a time that is no time, a rule state that is not JSON). */
  | 'UnreadableValue';

export class SqlAdapterError extends FieldlinkError<SqlAdapterErrorCode> {
  constructor(code: SqlAdapterErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'SqlAdapterError';
  }
}
