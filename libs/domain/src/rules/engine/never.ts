/**
 * "No time yet" in rule state. Finite, so state stays plain JSON (JSON has no -Infinity), and far
 * enough from any real timestamp that every "within" test against it is false.
 */
export const NEVER = -Number.MAX_SAFE_INTEGER;
