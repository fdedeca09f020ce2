import amqpCommonErrors from 'azure-iothub/dist/common-amqp/amqp_common_errors.js';
import amqpServiceErrors from 'azure-iothub/dist/amqp_service_errors.js';
import iotCommon from 'azure-iot-common';
import { describe, expect, it } from 'vitest';
import { guardIotHubErrorNames } from './iot-hub-error-names.js';

const sdk = amqpCommonErrors as unknown as { getErrorName(err: unknown): string };

describe("the IoT hub SDK's error names", () => {
  it('names an error the SDK made its own cause (a NotConnectedError it translated) instead of overflowing the stack', () => {
    const before = sdk.getErrorName;
    // What the service client makes of a send on a connection that is down.
    const error = amqpServiceErrors.translateError('send failed', new iotCommon.errors.NotConnectedError('not connected')) as Error & { amqpError?: unknown };
    expect(error.amqpError).toBe(error);
    expect(() => before(error)).toThrow(RangeError);
    guardIotHubErrorNames();
    try {
      expect(sdk.getErrorName(error)).toBe('javacript error(NotConnectedError: not connected)');
      // Everything else reads as the SDK's own names.
      const wrapped = Object.assign(new Error('outer'), { amqpError: { condition: 'amqp:internal-error' } });
      expect(sdk.getErrorName(wrapped)).toBe(before(wrapped));
      expect(sdk.getErrorName(undefined)).toBe(before(undefined));
      expect(sdk.getErrorName({})).toBe(before({}));
    } finally {
      (amqpCommonErrors as unknown as { getErrorName: unknown }).getErrorName = before;
    }
  });
});
