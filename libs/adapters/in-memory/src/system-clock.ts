import type { ClockPort } from '@fieldlink/ports';

export const systemClock: ClockPort = { now: () => Date.now() };

/** A clock that moves only when told: for tests of lock expiry, TTLs and windows. */
export class ManualClock implements ClockPort {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: number): void {
    this.current = at;
  }
}
