import { FieldlinkError } from '@fieldlink/domain';
import { CrmError, DeviceRegistryError, QueueError } from '@fieldlink/ports';
import { describe, expect, it } from 'vitest';
import { settleFailures, settlementForFailure } from './failure-settlement.js';

/** An adapter's own error class, as the flows meet it without importing the adapter (AzureAdapterError, SqlAdapterError). */
type StandInCode = 'MessageTooLarge' | 'RequestFailed';
class StandInAdapterError extends FieldlinkError<StandInCode> {
  constructor(code: StandInCode, message: string) {
    super(code, message, { permanent: code === 'MessageTooLarge' });
  }
}

describe('settlementForFailure', () => {
  it('dead-letters a permanent error of a class the flows do not know at once, with its code as the reason', () => {
    const tooLarge = new StandInAdapterError('MessageTooLarge', "message 'm1' is larger than the queue accepts (262144 bytes)");
    expect(settlementForFailure(tooLarge)).toEqual({
      kind: 'deadLetter',
      reason: 'MessageTooLarge',
      description: "message 'm1' is larger than the queue accepts (262144 bytes)",
    });
  });

  it('abandons a retryable error of a class the flows do not know, so the queue tries again', () => {
    expect(settlementForFailure(new StandInAdapterError('RequestFailed', 'ServiceBusy'))).toEqual({
      kind: 'abandon',
      error: 'StandInAdapterError RequestFailed: ServiceBusy',
    });
    expect(settlementForFailure(new QueueError('MessageLockLost', 'the lock expired'))).toMatchObject({ kind: 'abandon' });
  });

  it('dead-letters the CRM’s and the registry’s permanent codes under their prefix, and abandons the others', () => {
    expect(settlementForFailure(new CrmError('NotFound', 'no incident'))).toEqual({ kind: 'deadLetter', reason: 'CrmNotFound', description: 'no incident' });
    expect(settlementForFailure(new CrmError('Rejected', 'bad column'))).toMatchObject({ kind: 'deadLetter', reason: 'CrmRejected' });
    expect(settlementForFailure(new CrmError('Transient', 'throttled'))).toEqual({ kind: 'abandon', error: 'CRM Transient: throttled' });
    expect(settlementForFailure(new CrmError('Unauthorized', 'expired secret'))).toMatchObject({ kind: 'abandon' });
    expect(settlementForFailure(new DeviceRegistryError('InvalidDeviceId', 'bad id'))).toMatchObject({ kind: 'deadLetter', reason: 'RegistryInvalidDeviceId' });
    expect(settlementForFailure(new DeviceRegistryError('DeviceNotFound', 'gone'))).toMatchObject({ kind: 'deadLetter', reason: 'RegistryDeviceNotFound' });
    expect(settlementForFailure(new DeviceRegistryError('Throttled', '429'))).toMatchObject({ kind: 'abandon' });
  });

  it('abandons what is no FieldlinkError, with its message', () => {
    expect(settlementForFailure(new Error('socket hang up'))).toEqual({ kind: 'abandon', error: 'socket hang up' });
    expect(settlementForFailure('odd')).toEqual({ kind: 'abandon', error: 'odd' });
  });

  it('settles a handler that throws instead of throwing at the queue', async () => {
    expect(
      await settleFailures(async () => {
        throw new StandInAdapterError('MessageTooLarge', 'too large');
      }),
    ).toMatchObject({ kind: 'deadLetter', reason: 'MessageTooLarge' });
  });
});
