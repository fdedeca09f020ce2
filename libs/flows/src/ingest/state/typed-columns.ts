// Flows 3–6 (ingest state): columns of typed arrays that grow, and the codes of the names they hold (the suppression memory's entries, a partition's window rows).

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

/** Codes for the few names a column holds (reading types): a small whole number in an Int32Array per row, not a string. */
export class NameCodes {
  private readonly names: string[] = [];
  private readonly codes = new Map<string, number>();

  /** The name's code, given one if it had none. */
  codeOf(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      code = this.names.push(name) - 1;
      this.codes.set(name, code);
    }
    return code;
  }

  /** The name's code; undefined when it was never given one. */
  find(name: string): number | undefined {
    return this.codes.get(name);
  }

  nameOf(code: number): string {
    return this.names[code]!;
  }

  /** Every name, by code (a copy). */
  all(): string[] {
    return this.names.slice();
  }
}
