/**
 * A device type is data: the readings its telemetry carries and the default device rules
 * (thresholds) CFS keeps for it. A team adds a type by adding one of these, not by changing code.
 */
export interface DeviceType {
  readonly name: string;
  readonly readings: readonly string[];
}
