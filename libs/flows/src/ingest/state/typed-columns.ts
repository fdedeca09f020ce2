// Flows 3–6 (ingest state): columns of typed arrays that grow (the suppression memory's entries, a partition's window rows).

/** A copy of `from` with room for `capacity` values (the new ones zero). */
export function grownInt32(from: Int32Array, capacity: number): Int32Array {
  const to = new Int32Array(capacity);
  to.set(from);
  return to;
}

/** A copy of `from` with room for `capacity` values (the new ones zero). */
export function grownFloat64(from: Float64Array, capacity: number): Float64Array {
  const to = new Float64Array(capacity);
  to.set(from);
  return to;
}
