/**
 * The one shape of an error in Fieldlink: a `code` from a closed union that the module declaring
 * it documents, a message for people, and the failure underneath (`cause`) when there is one.
 * Expected failures are returned as `Result<T, E>` with such an error; a port's infrastructure
 * failure rejects with its port's `FieldlinkError` subclass; anything else thrown is a bug.
 */
export interface CodedError<C extends string> {
  readonly code: C;
  readonly message: string;
  readonly cause?: unknown;
}

/** A `CodedError` as a value, for `err(...)`. */
export const codedError = <C extends string>(code: C, message: string): CodedError<C> => ({ code, message });

/**
 * The base of every error class a port rejects with. Subclasses fix the code union
 * (`CrmError extends FieldlinkError<CrmErrorCode>`) and may add fields of their own (an HTTP
 * status); `cause` is the standard `Error` cause, so logs and debuggers show the chain.
 *
 * `permanent` says whether a retry of the same call with the same input can succeed: false for
 * what time may fix (throttling, an unavailable service, a lost lock, settings an operator
 * corrects), true where the input itself is the failure (a record that is not there, data the
 * service refuses, a message larger than it takes). Each subclass derives it from its code, with
 * the permanent codes documented beside its union, so a caller that does not know the class
 * (a flow settling a queue message) can still tell "dead-letter now" from "try again".
 */
export abstract class FieldlinkError<C extends string> extends Error implements CodedError<C> {
  /** True when retrying the same call with the same input cannot succeed. */
  readonly permanent: boolean;

  constructor(
    readonly code: C,
    message: string,
    options: { readonly cause?: unknown; readonly permanent?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.permanent = options.permanent ?? false;
  }
}
