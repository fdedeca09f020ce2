// The package has no exports map: its AMQP error helpers are reached by path. A default import
// of a CommonJS module is its `module.exports`, the object the SDK's own modules call through.
import amqpCommonErrors from 'azure-iothub/dist/common-amqp/amqp_common_errors.js';

type ErrorNamer = (err: unknown) => string;
const errorNames = amqpCommonErrors as unknown as { getErrorName: ErrorNamer };

/**
 * azure-iothub (1.16.6, the latest) makes an error that is its own cause: the service client's
 * `translateError` hands a NotConnectedError (a send or link while the connection is down) to the
 * common `translateError`, which returns that same object, and then sets its `amqpError` to it.
 * `getErrorName`, which the SDK's links call to build their debug lines (whether debug output is
 * on or not), follows `amqpError` without end: a RangeError thrown inside an AMQP event handler,
 * which ends the process. Seen after a dropped IoT hub connection. This replaces the SDK's
 * `getErrorName` with one giving the same names that stops at an error it has named already.
 */
export function guardIotHubErrorNames(): void {
  if (errorNames.getErrorName === cycleSafeErrorName) return;
  errorNames.getErrorName = cycleSafeErrorName;
}

function cycleSafeErrorName(err: unknown, seen: Set<unknown> = new Set()): string {
  if (!err) return 'error is falsy';
  const e = err as { condition?: unknown; name?: unknown; amqpError?: unknown };
  if (e.condition) return `amqp error(${String(e.condition)})`;
  if (!e.name) return 'unknown error type';
  seen.add(err);
  // The SDK's own spelling of the name, kept so that its debug lines read as before.
  let name = `javacript error(${String(err)})`;
  if (e.amqpError && !seen.has(e.amqpError)) name += `(from ${cycleSafeErrorName(e.amqpError, seen)})`;
  return name;
}
