import type { AggregateFunction, WindowSpec } from '../rule-definition.js';
import { NEVER } from './never.js';

/**
 * Window aggregates with Stream Analytics semantics, over one device's readings in time order.
 * A window `(end - size, end]` includes its end and excludes its start. Tumbling and hopping
 * windows end at whole multiples of their size (hop) from the epoch and emit once, at the end,
 * stamped with the end, when a later reading arrives or the watermark passes the end; empty
 * windows emit nothing. A sliding window emits when a reading enters (stamped with the reading's
 * time) and when one leaves (stamped `time + size`, unless a reading enters at that very time, in
 * which case the two are one output), and never for an empty window.
 *
 * State lives in a plain number array from `base` on, so it serialises as it is. Each emission is
 * pushed to `out` as the pair (end, value): no allocation per reading.
 */

// One accumulator: [end, sum, count, min, max].
const END = 0;
const SUM = 1;
const COUNT = 2;
const MIN = 3;
const MAX = 4;
const ACC = 5;

const aggregateOf = (fn: AggregateFunction, sum: number, count: number, min: number, max: number): number => {
  switch (fn) {
    case 'avg':
      return sum / count;
    case 'sum':
      return sum;
    case 'count':
      return count;
    case 'min':
      return min;
    case 'max':
      return max;
  }
};

/** How many hopping windows can hold one reading. */
const hoppingWindows = (spec: { sizeMs: number; hopMs: number }): number => Math.ceil(spec.sizeMs / spec.hopMs);

/** Fixed state size; a sliding window keeps its readings after that as (time, value) pairs. */
export function windowStateSize(spec: WindowSpec): number {
  switch (spec.type) {
    case 'tumbling':
      return ACC;
    case 'hopping':
      return ACC * hoppingWindows(spec);
    case 'sliding':
      return 0;
  }
}

export function initWindowState(spec: WindowSpec, s: number[]): void {
  const size = windowStateSize(spec);
  for (let i = 0; i < size; i += ACC) s.push(NEVER, 0, 0, 0, 0);
}

// `+ 0` turns -0 into 0: a window ending at the epoch ends at 0.
const ceilTo = (t: number, step: number): number => Math.ceil(t / step) * step + 0;
const mod = (a: number, n: number): number => ((a % n) + n) % n;

function addTo(s: number[], at: number, v: number): void {
  s[at + SUM]! += v;
  s[at + COUNT]! += 1;
  if (v < s[at + MIN]!) s[at + MIN] = v;
  if (v > s[at + MAX]!) s[at + MAX] = v;
}

function startAt(s: number[], at: number, end: number, v: number): void {
  s[at + END] = end;
  s[at + SUM] = v;
  s[at + COUNT] = 1;
  s[at + MIN] = v;
  s[at + MAX] = v;
}

function emitAcc(fn: AggregateFunction, s: number[], at: number, out: number[]): void {
  out.push(s[at + END]!, aggregateOf(fn, s[at + SUM]!, s[at + COUNT]!, s[at + MIN]!, s[at + MAX]!));
  s[at + END] = NEVER;
}

/** Emits, in end order, every hopping window ending before `bound`. */
function closeHoppingBefore(fn: AggregateFunction, k: number, s: number[], base: number, bound: number, out: number[]): void {
  for (;;) {
    let oldest = -1;
    for (let i = 0; i < k; i++) {
      const end = s[base + i * ACC + END]!;
      if (end !== NEVER && end < bound && (oldest < 0 || end < s[base + oldest * ACC + END]!)) oldest = i;
    }
    if (oldest < 0) return;
    emitAcc(fn, s, base + oldest * ACC, out);
  }
}

function aggregateBuffer(fn: AggregateFunction, s: number[], base: number): number {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = base + 1; i < s.length; i += 2) {
    const v = s[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return aggregateOf(fn, sum, (s.length - base) / 2, min, max);
}

/** Emits the sliding window's outputs for readings leaving it before `bound`. */
function slideExitsBefore(fn: AggregateFunction, size: number, s: number[], base: number, bound: number, out: number[]): void {
  while (s.length > base && s[base]! + size < bound) {
    const leaving = s[base]!;
    let n = 0;
    while (base + n < s.length && s[base + n]! <= leaving) n += 2;
    s.splice(base, n);
    if (s.length > base) out.push(leaving + size, aggregateBuffer(fn, s, base));
  }
}

/** One reading at time `t` (not before the previous one of this device). */
export function windowAccept(spec: WindowSpec, fn: AggregateFunction, s: number[], base: number, t: number, v: number, out: number[]): void {
  switch (spec.type) {
    case 'tumbling': {
      const end = ceilTo(t, spec.sizeMs);
      const current = s[base + END]!;
      if (current === end) {
        addTo(s, base, v);
        return;
      }
      if (current !== NEVER) emitAcc(fn, s, base, out);
      startAt(s, base, end, v);
      return;
    }
    case 'hopping': {
      const k = hoppingWindows(spec);
      closeHoppingBefore(fn, k, s, base, t, out);
      for (let end = ceilTo(t, spec.hopMs); end < t + spec.sizeMs; end += spec.hopMs) {
        const at = base + mod(end / spec.hopMs, k) * ACC;
        if (s[at + END] === end) addTo(s, at, v);
        else startAt(s, at, end, v);
      }
      return;
    }
    case 'sliding': {
      slideExitsBefore(fn, spec.sizeMs, s, base, t, out);
      // Readings leaving exactly at t are part of this output, not one of their own.
      let n = 0;
      while (base + n < s.length && s[base + n]! <= t - spec.sizeMs) n += 2;
      if (n > 0) s.splice(base, n);
      s.push(t, v);
      out.push(t, aggregateBuffer(fn, s, base));
      return;
    }
  }
}

/** The watermark moved: every output stamped before it is final. */
export function windowAdvance(spec: WindowSpec, fn: AggregateFunction, s: number[], base: number, watermark: number, out: number[]): void {
  switch (spec.type) {
    case 'tumbling': {
      const end = s[base + END]!;
      if (end !== NEVER && end < watermark) emitAcc(fn, s, base, out);
      return;
    }
    case 'hopping':
      closeHoppingBefore(fn, hoppingWindows(spec), s, base, watermark, out);
      return;
    case 'sliding':
      slideExitsBefore(fn, spec.sizeMs, s, base, watermark, out);
      return;
  }
}
