import {
  decodeDeviceHealthRow,
  decodeDeviceHealthRows,
  decodeMinuteAggregateRow,
  decodeMinuteAggregateRows,
  encodeDeviceHealthRow,
  encodeDeviceHealthRows,
  encodeMinuteAggregateRow,
  encodeMinuteAggregateRows,
  READING_TYPE_MAX,
  type DeviceHealth,
  type MinuteAggregate,
} from '@fieldlink/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hubDeviceIdArbitrary,
  invalidUtf8Arbitrary,
  jsonNumberArbitrary,
  mutationArbitrary,
  withByteOrderMark,
  withInvalidUtf8,
  type FieldSpec,
  type JsonObject,
} from './mutations.js';

const AGGREGATE_FIELDS: FieldSpec[] = [
  { name: 'deviceId', type: 'string', required: true, maxLength: 128 },
  { name: 'readingType', type: 'string', required: true, maxLength: READING_TYPE_MAX },
  { name: 'windowEnd', type: 'number', required: true },
  { name: 'count', type: 'number', required: true },
  { name: 'min', type: 'number', required: true },
  { name: 'max', type: 'number', required: true },
  { name: 'avg', type: 'number', required: true },
];

const HEALTH_FIELDS: FieldSpec[] = [
  { name: 'deviceId', type: 'string', required: true, maxLength: 128 },
  { name: 'lastActivityTime', type: 'number', required: true },
  { name: 'online', type: 'boolean', required: true },
];

const MINUTE = 60_000;
const epochMsArbitrary = fc.integer({ min: 0, max: Date.parse('2100-01-01T00:00:00Z') });
const readingTypeArbitrary = fc.oneof(fc.constantFrom('Temperature', 'Humidity', 'Pressure'), fc.string({ minLength: 1, maxLength: READING_TYPE_MAX }));
// Reading types as telemetry field names (JSON object keys): letters first, so never `__proto__`.
const readingKeyArbitrary = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,30}$/);

const aggregateArbitrary: fc.Arbitrary<MinuteAggregate> = fc
  .record({
    deviceId: hubDeviceIdArbitrary,
    readingType: readingTypeArbitrary,
    windowEnd: epochMsArbitrary.map((t) => Math.floor(t / MINUTE) * MINUTE),
    count: fc.integer({ min: 1, max: 1_000_000 }),
    bounds: fc.tuple(jsonNumberArbitrary, jsonNumberArbitrary).map(([a, b]) => (a <= b ? [a, b] : [b, a])),
    avg: jsonNumberArbitrary,
  })
  .map(({ bounds: [min, max], ...r }) => ({ ...r, min: min!, max: max! }));

const healthArbitrary: fc.Arbitrary<DeviceHealth> = fc.record({
  deviceId: hubDeviceIdArbitrary,
  lastActivityTime: epochMsArbitrary,
  online: fc.boolean(),
  lastReadings: fc.dictionary(readingKeyArbitrary, jsonNumberArbitrary, { maxKeys: 4 }),
});

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const pathsOf = (result: { ok: boolean; error?: ReadonlyArray<{ path: string }> }): string[] => (result.ok ? [] : result.error!.map((i) => i.path));

describe('status rows (flow 5): per-minute aggregates and device health', () => {
  it('any valid aggregate row or health row survives encode then decode unchanged, one by one and as a body', () => {
    fc.assert(
      fc.property(
        fc.array(aggregateArbitrary, { minLength: 1, maxLength: 5 }),
        fc.array(healthArbitrary, { minLength: 1, maxLength: 5 }),
        (aggregates, health) => {
          for (const a of aggregates) expect(decodeMinuteAggregateRow(JSON.parse(JSON.stringify(encodeMinuteAggregateRow(a))))).toEqual({ ok: true, value: a });
          for (const h of health) expect(decodeDeviceHealthRow(JSON.parse(JSON.stringify(encodeDeviceHealthRow(h))))).toEqual({ ok: true, value: h });
          expect(decodeMinuteAggregateRows(encodeMinuteAggregateRows(aggregates))).toEqual({ ok: true, value: aggregates });
          expect(decodeDeviceHealthRows(encodeDeviceHealthRows(health))).toEqual({ ok: true, value: health });
        },
      ),
    );
  });

  it('any missing field, wrong type, extra nesting, oversized string, NaN or infinity in an aggregate row is refused with an issue naming the field, never thrown', () => {
    fc.assert(
      fc.property(aggregateArbitrary, mutationArbitrary(AGGREGATE_FIELDS), (aggregate, mutation) => {
        const row = mutation.apply(encodeMinuteAggregateRow(aggregate) as unknown as JsonObject);
        const result = decodeMinuteAggregateRow(row);
        expect(result.ok, `${mutation.kind} of ${mutation.field} was accepted`).toBe(false);
        expect(pathsOf(result)).toContain(mutation.field);
      }),
    );
  });

  it('an aggregate row whose window end is not a whole minute, whose count is not a positive whole number, or whose max is below its min is refused naming that field', () => {
    fc.assert(
      fc.property(
        aggregateArbitrary,
        fc.integer({ min: 1, max: MINUTE - 1 }),
        fc.oneof(
          fc.integer({ max: 0 }),
          fc.double({ min: 0.01, max: 1e6, noNaN: true }).filter((n) => !Number.isInteger(n)),
        ),
        (aggregate, offset, badCount) => {
          const row = encodeMinuteAggregateRow(aggregate);
          expect(pathsOf(decodeMinuteAggregateRow({ ...row, windowEnd: row.windowEnd + offset }))).toEqual(['windowEnd']);
          expect(pathsOf(decodeMinuteAggregateRow({ ...row, count: badCount }))).toEqual(['count']);
          if (row.min !== row.max) expect(pathsOf(decodeMinuteAggregateRow({ ...row, min: row.max, max: row.min }))).toEqual(['max']);
        },
      ),
    );
  });

  it('any missing field, wrong type or extra nesting of a health row, or a last reading that is not a finite number, is refused with an issue naming the field, never thrown', () => {
    fc.assert(
      fc.property(
        healthArbitrary,
        mutationArbitrary(HEALTH_FIELDS),
        readingKeyArbitrary,
        fc.oneof(
          fc.string(),
          fc.boolean(),
          fc.constant(null),
          fc.constant(Number.NaN),
          fc.constant(Infinity),
          fc.array(fc.integer(), { maxLength: 2 }),
          fc.record({ value: jsonNumberArbitrary }),
        ),
        (health, mutation, key, badReading) => {
          const row = encodeDeviceHealthRow(health) as unknown as JsonObject;
          const mutated = decodeDeviceHealthRow(mutation.apply(row));
          expect(mutated.ok, `${mutation.kind} of ${mutation.field} was accepted`).toBe(false);
          expect(pathsOf(mutated)).toContain(mutation.field);
          expect(pathsOf(decodeDeviceHealthRow({ ...row, lastReadings: { ...health.lastReadings, [key]: badReading } }))).toEqual([`lastReadings.${key}`]);
        },
      ),
    );
  });

  it('health rows whose last readings are not an object of numbers are refused at lastReadings', () => {
    fc.assert(
      fc.property(
        healthArbitrary,
        fc.oneof(fc.string(), jsonNumberArbitrary, fc.boolean(), fc.constant(null), fc.array(jsonNumberArbitrary, { maxLength: 3 })),
        (health, bad) => {
          expect(pathsOf(decodeDeviceHealthRow({ ...encodeDeviceHealthRow(health), lastReadings: bad }))).toEqual(['lastReadings']);
        },
      ),
    );
  });

  it('any JSON value at all is answered with a Result, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => decodeMinuteAggregateRow(value)).not.toThrow();
        expect(() => decodeDeviceHealthRow(value)).not.toThrow();
        expect(typeof decodeMinuteAggregateRows(JSON.stringify(value)).ok).toBe('boolean');
      }),
    );
  });

  it('a byte-order mark or invalid UTF-8 anywhere in a body of rows is refused at path "body", never thrown', () => {
    fc.assert(
      fc.property(
        fc.array(aggregateArbitrary, { minLength: 1, maxLength: 3 }),
        fc.array(healthArbitrary, { minLength: 1, maxLength: 3 }),
        invalidUtf8Arbitrary,
        (aggregates, health, bad) => {
          const aggregatesJson = text(encodeMinuteAggregateRows(aggregates));
          const healthJson = text(encodeDeviceHealthRows(health));
          expect(decodeMinuteAggregateRows(withByteOrderMark(aggregatesJson))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
          expect(decodeDeviceHealthRows(withByteOrderMark(healthJson))).toMatchObject({ ok: false, error: [{ path: 'body' }] });
          expect(decodeMinuteAggregateRows(withInvalidUtf8(aggregatesJson, bad))).toMatchObject({
            ok: false,
            error: [{ path: 'body', message: 'is not valid UTF-8' }],
          });
          expect(decodeDeviceHealthRows(withInvalidUtf8(healthJson, bad))).toMatchObject({
            ok: false,
            error: [{ path: 'body', message: 'is not valid UTF-8' }],
          });
        },
      ),
    );
  });
});
