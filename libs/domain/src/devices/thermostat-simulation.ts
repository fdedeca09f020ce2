/**
 * How a simulated thermostat's readings move: towards its target with a little noise, plus a
 * drift (degrees per minute) that models a failing unit. Pure: time and noise come in.
 */
export interface ThermostatSimState {
  readonly temperature: number;
  readonly humidity: number;
  readonly target: number;
  /** Degrees per minute added on top of the pull towards the target. */
  readonly driftPerMinute: number;
}

const PULL_PER_MINUTE = 0.2;

/** Advances by `elapsedMs`; `noise` in [-1, 1] shakes the readings a little. */
export function stepThermostat(state: ThermostatSimState, elapsedMs: number, noise: number): ThermostatSimState {
  const minutes = elapsedMs / 60_000;
  const pull = state.driftPerMinute === 0 ? (state.target - state.temperature) * Math.min(1, PULL_PER_MINUTE * minutes) : 0;
  const temperature = state.temperature + pull + state.driftPerMinute * minutes + noise * 0.05;
  const humidity = Math.min(100, Math.max(0, state.humidity + noise * 0.1));
  return { ...state, temperature: round1(temperature), humidity: round1(humidity) };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
