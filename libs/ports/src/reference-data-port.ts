import type { CfsThresholdRule } from '@fieldlink/domain';

/** Flow 4a: the reference data stream processing joins telemetry with. */
export interface ReferenceDataPort {
  /** The device rules in force at `at` (epoch ms): the newest snapshot whose time has come. */
  deviceRules(at: number): Promise<readonly CfsThresholdRule[]>;
  /** The device type of a device, or undefined when the metadata does not know it. */
  deviceTypeOf(deviceId: string): Promise<string | undefined>;
}
