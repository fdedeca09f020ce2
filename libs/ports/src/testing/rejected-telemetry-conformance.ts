import { afterEach, describe, expect, it } from 'vitest';
import type { RejectedTelemetry, RejectedTelemetryPort } from '../rejected-telemetry-port.js';
import { textOf, uniqueDeviceId, utf8 } from './conformance-support.js';

export interface RejectedTelemetryUnderTest {
  readonly rejected: RejectedTelemetryPort;
  dispose(): Promise<void>;
}

/** A fresh, empty store of rejects. */
export type RejectedTelemetryFactory = () => Promise<RejectedTelemetryUnderTest>;

const rejectOf = (deviceId: string, n: number, body: Uint8Array = utf8(`{"DeviceID":"${deviceId}","n":${n}`)): RejectedTelemetry => ({
  envelope: {
    body,
    connectionDeviceId: deviceId,
    enqueuedTime: 1_795_857_302_113 + n,
    partitionId: '1',
    sequenceNumber: n,
    properties: { source: 'conformance' },
  },
  reason: 'InvalidTelemetry',
  description: `body: is not JSON (${n})`,
});

/**
 * What every RejectedTelemetryPort adapter must do: keep each reject with its raw body (bytes
 * exactly, even when they are not UTF-8), the envelope, the reason and the description; list the
 * most recent ones, oldest first, up to the count asked.
 */
export function rejectedTelemetryConformance(adapterName: string, factory: RejectedTelemetryFactory): void {
  describe(`${adapterName} conforms to RejectedTelemetryPort`, () => {
    let current: RejectedTelemetryUnderTest | undefined;
    const open = async () => (current = await factory());
    afterEach(async () => {
      await current?.dispose();
      current = undefined;
    });

    it('keeps a reject with its envelope, raw bytes, reason and description', async () => {
      const { rejected } = await open();
      const deviceId = uniqueDeviceId("thermostat'bad");
      const notUtf8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
      await rejected.reject(rejectOf(deviceId, 0, notUtf8));
      const [got] = await rejected.list(10);
      expect(got).toMatchObject({
        reason: 'InvalidTelemetry',
        description: 'body: is not JSON (0)',
        envelope: { connectionDeviceId: deviceId, enqueuedTime: 1_795_857_302_113, partitionId: '1', sequenceNumber: 0, properties: { source: 'conformance' } },
      });
      expect([...got!.envelope.body]).toEqual([...notUtf8]);
    });

    it('lists the most recent rejects, oldest first, up to the count asked', async () => {
      const { rejected } = await open();
      const deviceId = uniqueDeviceId('thermostat');
      for (let n = 0; n < 4; n++) await rejected.reject(rejectOf(deviceId, n));
      expect((await rejected.list(2)).map((r) => textOf(r.envelope.body))).toEqual([
        textOf(rejectOf(deviceId, 2).envelope.body),
        textOf(rejectOf(deviceId, 3).envelope.body),
      ]);
      expect(await rejected.list(10)).toHaveLength(4);
    });
  });
}
