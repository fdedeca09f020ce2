import type { CfsThresholdRule } from '@fieldlink/domain';
import type { ReferenceDataPort, ReferenceLookup } from '@fieldlink/ports';

interface Snapshot {
  readonly validFrom: number;
  readonly rules: readonly CfsThresholdRule[];
}

/**
 * Reference data as CFS keeps it in blob storage: dated snapshots of the device rules, the
 * newest whose time has come in force; plus device metadata (device id → device type).
 */
export class InMemoryReferenceData implements ReferenceDataPort {
  private snapshots: Snapshot[] = [];
  private readonly deviceTypes = new Map<string, string>();

  constructor(initialRules: readonly CfsThresholdRule[] = []) {
    if (initialRules.length > 0) this.publishDeviceRules(Number.NEGATIVE_INFINITY, initialRules);
  }

  publishDeviceRules(validFrom: number, rules: readonly CfsThresholdRule[]): void {
    this.snapshots = [...this.snapshots.filter((s) => s.validFrom !== validFrom), { validFrom, rules: [...rules] }].sort((a, b) => a.validFrom - b.validFrom);
  }

  setDeviceType(deviceId: string, deviceType: string): void {
    this.deviceTypes.set(deviceId, deviceType);
  }

  async deviceRules(at: number): Promise<readonly CfsThresholdRule[]> {
    return this.rulesAt(at);
  }

  async deviceTypeOf(deviceId: string): Promise<string | undefined> {
    return this.deviceTypes.get(deviceId);
  }

  async lookUp(deviceIds: readonly string[], times: readonly number[]): Promise<ReferenceLookup> {
    return { deviceTypes: deviceIds.map((d) => this.deviceTypes.get(d)), rulesAt: times.map((t) => this.rulesAt(t)) };
  }

  private rulesAt(at: number): readonly CfsThresholdRule[] {
    let current: Snapshot | undefined;
    for (const s of this.snapshots) if (s.validFrom <= at) current = s;
    return current?.rules ?? [];
  }
}
