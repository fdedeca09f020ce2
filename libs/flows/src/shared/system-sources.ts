// Shared by the flows: the system's clock, ids and randomness, as defaults (exempt from the purity lint, see eslint.config.mjs).
import { randomUUID } from 'node:crypto';
import type { ClockPort, IdPort } from '@fieldlink/ports';

/*
 * A flow reads the time from its `ClockPort` and makes ids with its `IdPort`; the composition
 * gives it the process's. A flow built without one (a test, a script) gets these, the only place
 * in the flows that reads the system clock or draws random values.
 */

/** The system clock. */
export const systemClock: ClockPort = { now: () => Date.now() };

/** Random version-4 GUIDs. */
export const randomIds: IdPort = { newId: () => randomUUID() };

/** Uniform in [0, 1): the jitter of back-off waits. */
export const systemRandom = (): number => Math.random();
