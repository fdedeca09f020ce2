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
 */
export abstract class FieldlinkError<C extends string> extends Error implements CodedError<C> {
  constructor(
    readonly code: C,
    message: string,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}
