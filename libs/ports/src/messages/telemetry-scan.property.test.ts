import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { telemetryFromJson } from './telemetry-message.js';
import { scanPlainTelemetry } from './telemetry-scan.js';

const fixture = readFileSync(new URL('../../../../fixtures/cfs/telemetry.thermostat.json', import.meta.url), 'utf8');

/** What `JSON.parse` and `telemetryFromJson` make of the text: the event, or undefined when either refuses it. */
function generalRead(text: string, at: number) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const read = telemetryFromJson(value, at);
  return read.ok ? read.value : undefined;
}

/** The scanner's event is the general read's, reading for reading (`Object.is`: -0 is not 0), in the same order. */
function expectSameEvent(text: string, at: number): boolean {
  const scanned = scanPlainTelemetry(text, at);
  if (scanned === undefined) return false;
  const general = generalRead(text, at);
  expect(general, text).toBeDefined();
  expect({ ...scanned, readings: undefined }).toStrictEqual({ ...general!, readings: undefined });
  expect(Object.keys(scanned.readings)).toEqual(Object.keys(general!.readings));
  for (const [name, value] of Object.entries(scanned.readings)) expect(Object.is(value, general!.readings[name]), `${name} in ${text}`).toBe(true);
  return true;
}

/** JSON's white space mostly, now and then a space JSON does not count as such. */
const space = fc.oneof({ weight: 60, arbitrary: fc.constantFrom('', '', '', ' ', '\n  ', '\t', '\r\n') }, fc.constantFrom('\u00a0', '\ufeff'));

/** Number texts, JSON's and not: the forms a device writes, and the edges of the scanner's own. */
const numberText = fc.oneof(
  fc.double().map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 6 })).map(([m, k]) => (m / 10 ** k).toFixed(k)),
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.integer({ min: 0, max: 17 }), fc.boolean()).map(([m, k, negative]) => {
    const digits = m.toString();
    return (negative ? '-' : '') + (k === 0 || k >= digits.length ? digits : `${digits.slice(0, -k)}.${digits.slice(-k)}`);
  }),
  fc.constantFrom(
    '-0',
    '0',
    '-0.0',
    '01',
    '-01',
    '1.',
    '.5',
    '-',
    '+1',
    '1e5',
    '1E-2',
    '1.5e+3',
    '0.1',
    '9007199254740993',
    '123456789012345',
    '1234567890123456',
    '0x1f',
    'NaN',
    'Infinity',
    '1_000',
  ),
);

/** String texts: device ids and tokens, good and bad, escaped or not. */
const stringText = fc.oneof(
  fc
    .constantFrom(
      'thermostat-1',
      'chiller-9',
      "a:b.c+d%e_f#g*h?i!j(k)l,m=n@o;p$q'r",
      '',
      'x'.repeat(128),
      'x'.repeat(129),
      'bad id',
      'é',
      'tab\there',
      'quote"d',
      'back\\slash',
    )
    .map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 140, unit: 'binary' }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"\\u0074hermostat-1"', '"raw\ttab"', '"unterminated', '"two" "strings"'),
);

/** Device ids the hub accepts, and event tokens without escapes: what the devices send. */
const deviceIdText = fc.stringMatching(/^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/).map((s) => JSON.stringify(s));
const tokenText = fc.string({ minLength: 1, maxLength: 128 }).map((s) => JSON.stringify(s));

const otherValue = fc.constantFrom('null', 'true', 'false', '[]', '{}', '[1]', '{"a":1}');

/** A value for a name: mostly of its own kind, sometimes of any. */
const valueFor = (own: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.oneof({ weight: 8, arbitrary: own }, numberText, stringText, otherValue);

const otherName = fc.constantFrom(
  '"deviceid"',
  '"DeviceId"',
  '"TEMPERATURE"',
  '"Pressure"',
  '"IoTHub"',
  '"__proto__"',
  '"Device\\u0049D"',
  '"Humid\\"ity"',
  '""',
  'DeviceID',
  '"Humidity',
);
const colon = fc.oneof({ weight: 20, arbitrary: fc.constant(':') }, fc.constantFrom('=', '', '::'));

const member = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(space, name, space, colon, space, value, space).map((parts) => parts.join(''));

/**
 * An object's text, mostly of the devices' own form: DeviceID and EventToken, maybe Temperature and
 * Humidity, now and then another name, a name twice or a value of another kind, in any order;
 * sometimes with a comma too many or too few, or something after it.
 */
const objectText = fc
  .tuple(
    fc.tuple(
      member(fc.constant('"DeviceID"'), valueFor(fc.oneof({ weight: 4, arbitrary: deviceIdText }, stringText))),
      member(fc.constant('"EventToken"'), valueFor(fc.oneof({ weight: 4, arbitrary: tokenText }, stringText))),
      fc.option(member(fc.constant('"Temperature"'), valueFor(numberText))),
      fc.option(member(fc.constant('"Humidity"'), valueFor(numberText))),
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      fc.array(member(fc.oneof(otherName, fc.constantFrom('"DeviceID"', '"EventToken"', '"Temperature"', '"Humidity"')), valueFor(numberText)), {
        minLength: 1,
        maxLength: 2,
      }),
    ),
    space,
    fc.oneof({ weight: 20, arbitrary: fc.constant(',') }, fc.constantFrom(', ', '', ',,')),
    fc.oneof({ weight: 10, arbitrary: space }, fc.constantFrom(',', ' x', '}', '{')),
  )
  .chain(([own, others, before, comma, after]) =>
    fc
      .shuffledSubarray([...own.filter((m): m is string => m !== null), ...others], { minLength: own.filter((m) => m !== null).length + others.length })
      .map((members) => `${before}{${members.join(comma)}}${after}`),
  );

/** A message in the devices' own form, as `JSON.stringify` writes it, names in any order, with or without white space between tokens. */
const plainMessage = fc
  .record(
    {
      DeviceID: fc.stringMatching(/^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/),
      EventToken: fc.string({ minLength: 1, maxLength: 128 }).filter((s) => !/["\\\u0000-\u001f]/.test(s)),
      Temperature: fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 3 })).map(([m, k]) => m / 10 ** k),
      Humidity: fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 3 })).map(([m, k]) => m / 10 ** k),
    },
    { requiredKeys: ['DeviceID', 'EventToken'] },
  )
  .chain((message) =>
    fc.tuple(
      fc.shuffledSubarray(Object.entries(message), { minLength: Object.keys(message).length }),
      fc.constantFrom(undefined, 2, '\t'),
      fc.integer({ min: 0, max: 2 ** 40 }),
    ),
  )
  .map(([entries, indent, at]) => {
    return { text: JSON.stringify(Object.fromEntries(entries), undefined, indent), at };
  });

describe('scanPlainTelemetry (properties)', () => {
  it('property: for any text, the scanner reads nothing, or exactly the event JSON.parse and telemetryFromJson read (readings, their order, -0)', () => {
    let read = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 8, arbitrary: objectText }, fc.json(), fc.string()), fc.integer({ min: 0, max: 2 ** 40 }), (text, at) => {
        if (expectSameEvent(text, at)) read++;
        else expect(scanPlainTelemetry(text, at)).toBeUndefined();
      }),
      { numRuns: 5_000 },
    );
    // The texts reach the scanner's events, not only its refusals (about 150 of the 5,000 do).
    expect(read).toBeGreaterThan(75);
  });

  it('property: every message in the devices own form (names in any order, numbers of up to 15 digits, white space or none) is read by the scanner', () => {
    fc.assert(
      fc.property(plainMessage, ({ text, at }) => {
        expect(expectSameEvent(text, at), text).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads the CFS thermostat fixture', () => {
    expect(scanPlainTelemetry(fixture, 7)).toStrictEqual({
      deviceId: 'thermostat-1',
      eventToken: '6f2c1a2e-58b4-4c4b-9d1e-3e1c2b7a9f01',
      enqueuedTime: 7,
      readings: { Temperature: 86, Humidity: 41 },
    });
  });

  it('leaves to the general reader what needs its explanation or its rules', () => {
    for (const text of [
      '{"DeviceID":"bad id","EventToken":"e"}',
      '{"DeviceID":"t-1","EventToken":""}',
      '{"DeviceID":"t-1","EventToken":"e","Temperature":1e2}',
      '{"DeviceID":"t-1","EventToken":"e","Temperature":1234567890123456}',
      '{"DeviceID":"t-1","EventToken":"e","Temperature":86,"Temperature":87}',
      '{"deviceid":"t-1","EventToken":"e"}',
      '{"DeviceID":"t-1","EventToken":"e","Pressure":5}',
      '{"DeviceID":"t-1","EventToken":"e\\u0041"}',
      '{"DeviceID":"t-1","EventToken":"e"} x',
      '{"DeviceID":"t-1"}',
    ])
      expect(scanPlainTelemetry(text, 0), text).toBeUndefined();
  });
});
