/** Wall-clock time in epoch milliseconds: the only source of "now" the flows use. */
export interface ClockPort {
  now(): number;
}
