import fc from 'fast-check';

/** A field of a wire schema, as the mutation arbitraries need to know it. */
export interface FieldSpec {
  readonly name: string;
  readonly type: 'string' | 'number' | 'boolean';
  readonly required: boolean;
  /** The longest string the schema should accept; longer is an oversized string. */
  readonly maxLength?: number;
}

export type JsonObject = Record<string, unknown>;

/** One way of breaking a valid object, with the field whose name the error must carry. */
export interface Mutation {
  readonly kind: 'missing field' | 'wrong type' | 'extra nesting' | 'oversized string' | 'NaN' | 'infinity';
  readonly field: string;
  readonly apply: (value: JsonObject) => JsonObject;
}

const wrongTypeFor = (type: FieldSpec['type']): fc.Arbitrary<unknown> =>
  type === 'string'
    ? fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }))
    : type === 'number'
      ? fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }))
      : fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }));

const set =
  (field: string, v: unknown) =>
  (value: JsonObject): JsonObject => ({ ...value, [field]: v });

/** Every kind of mutation the schema must refuse, each aimed at one field of `fields`. */
export function mutationArbitrary(fields: readonly FieldSpec[]): fc.Arbitrary<Mutation> {
  const options: Array<fc.Arbitrary<Mutation>> = [];
  for (const f of fields) {
    if (f.required) {
      options.push(
        fc.constant<Mutation>({
          kind: 'missing field',
          field: f.name,
          apply: (value) => {
            const copy = { ...value };
            delete copy[f.name];
            return copy;
          },
        }),
      );
    }
    options.push(wrongTypeFor(f.type).map((v): Mutation => ({ kind: 'wrong type', field: f.name, apply: set(f.name, v) })));
    options.push(
      fc.boolean().map((asArray): Mutation => ({
        kind: 'extra nesting',
        field: f.name,
        apply: (value) => ({ ...value, [f.name]: asArray ? [value[f.name] ?? 1] : { value: value[f.name] ?? 1 } }),
      })),
    );
    if (f.type === 'string' && f.maxLength !== undefined) {
      const max = f.maxLength;
      options.push(
        fc
          .integer({ min: max + 1, max: max * 8 + 100_000 })
          .map((n): Mutation => ({ kind: 'oversized string', field: f.name, apply: set(f.name, 'x'.repeat(n)) })),
      );
    }
    if (f.type === 'number') {
      options.push(fc.constant<Mutation>({ kind: 'NaN', field: f.name, apply: set(f.name, Number.NaN) }));
      options.push(fc.constantFrom(Infinity, -Infinity).map((v): Mutation => ({ kind: 'infinity', field: f.name, apply: set(f.name, v) })));
    }
  }
  return fc.oneof(...options);
}

const encoder = new TextEncoder();

/** A byte-order mark in front of valid JSON. */
export const withByteOrderMark = (json: string): Uint8Array => new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode(json)]);

/** Valid JSON with one invalid UTF-8 byte sequence placed at `at` (a fraction of the length). */
export const invalidUtf8Arbitrary = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  bytes: fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xed, 0xa0, 0x80]),
});
export function withInvalidUtf8(json: string, { at, bytes }: { at: number; bytes: readonly number[] }): Uint8Array {
  const valid = encoder.encode(json);
  const i = Math.floor(at * valid.length);
  return new Uint8Array([...valid.slice(0, i), ...bytes, ...valid.slice(i)]);
}

/** Hub device ids: 1–128 of the characters IoT Hub allows (the `'` included). */
export const hubDeviceIdArbitrary = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:.+%_#*?!(),=@;$'".split('')),
  minLength: 1,
  maxLength: 128,
});

/** Finite doubles as JSON carries them (no -0: JSON writes it as 0). */
export const jsonNumberArbitrary = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));

/** An ISO 8601 UTC time as Stream Analytics writes it. */
export const isoTimeArbitrary = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
