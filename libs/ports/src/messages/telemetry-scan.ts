import { HUB_DEVICE_ID_PATTERN, type TelemetryEvent } from '@fieldlink/domain';

/*
 * The devices' own form of a telemetry message, read straight from its text:
 *
 *   {"DeviceID":"thermostat-1","Temperature":86.0,"Humidity":41.0,"EventToken":"<guid>"}
 *
 * one object holding DeviceID and EventToken (strings) and at most Temperature and Humidity
 * (numbers), each named once and spelt so, in any order, with JSON's white space anywhere between
 * tokens. That is what every thermostat sends, and reading it this way skips building the parsed
 * object, checking it and copying its readings (`JSON.parse` then `plainTelemetry`), the larger
 * part of a reading's cost in ingest (docs/performance.md, "Eleventh round").
 *
 * Anything else gives undefined and goes the general way (`JSON.parse`, then the schema), which
 * also explains what is wrong: another name, a name in another case or twice, an escape in a
 * string, a value of another type, a number with an exponent or more than 15 digits, a device id
 * the hub would refuse, an event token empty or over 128 characters, anything after the object.
 * So the scanner never has to explain, only to be sure: whatever it reads, `JSON.parse` and
 * `telemetryFromJson` read the same (`telemetry-scan.property.test.ts` holds it to that for any
 * text).
 *
 * Numbers: digits d (at most 15, so exact as a double) and k digits after the point give d / 10^k,
 * one correctly rounded division of two exact doubles, which is the double nearest the decimal
 * (Clinger's fast path, "How to read floating point numbers accurately", PLDI 1990): the number
 * `JSON.parse` gives. JSON's grammar: https://www.rfc-editor.org/rfc/rfc8259#section-6
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const POINT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** The exact powers of ten a 15-digit number's point can need. */
const POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** The characters of an IoT Hub device id, all ASCII, as `HUB_DEVICE_ID_PATTERN` (the one place that lists them) takes them one by one. */
const DEVICE_ID_CHARACTER = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (HUB_DEVICE_ID_PATTERN.test(String.fromCharCode(c))) DEVICE_ID_CHARACTER[c] = 1;

const DEVICE_ID = 'DeviceID';
const EVENT_TOKEN = 'EventToken';
const TEMPERATURE = 'Temperature';
const HUMIDITY = 'Humidity';

/** The most characters an event token may have, as the message schema says. */
const MAX_TOKEN_LENGTH = 128;

/** Where the number `numberAt` read last ends (the scanner runs start to end in one call, never interleaved). */
let numberEnd = 0;

/** The event of a message in the devices' own form (see above), or undefined for anything else. */
export function scanPlainTelemetry(text: string, enqueuedTime: number): TelemetryEvent | undefined {
  let deviceId: string | undefined;
  let eventToken: string | undefined;
  let temperature: number | undefined;
  let humidity: number | undefined;
  let i = spaceEnd(text, 0);
  if (text.charCodeAt(i) !== OPEN) return undefined;
  i = spaceEnd(text, i + 1);
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const nameEnd = text.indexOf('"', i + 1);
    if (nameEnd < 0) return undefined;
    const name = knownName(text, i + 1, nameEnd);
    i = spaceEnd(text, nameEnd + 1);
    if (text.charCodeAt(i) !== COLON) return undefined;
    i = spaceEnd(text, i + 1);
    if (name === TEMPERATURE || name === HUMIDITY) {
      const value = numberAt(text, i);
      if (Number.isNaN(value)) return undefined;
      if (name === TEMPERATURE) {
        if (temperature !== undefined) return undefined;
        temperature = value;
      } else {
        if (humidity !== undefined) return undefined;
        humidity = value;
      }
      i = numberEnd;
    } else if (name === DEVICE_ID || name === EVENT_TOKEN) {
      if (text.charCodeAt(i) !== QUOTE) return undefined;
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      if (name === DEVICE_ID) {
        if (deviceId !== undefined || !isDeviceId(text, i + 1, end)) return undefined;
        deviceId = stringOfItsOwn(text, i, end);
      } else {
        if (eventToken !== undefined || !isPlainToken(text, i + 1, end)) return undefined;
        eventToken = stringOfItsOwn(text, i, end);
      }
      i = end + 1;
    } else {
      return undefined;
    }
    i = spaceEnd(text, i);
    const next = text.charCodeAt(i);
    if (next === CLOSE) break;
    if (next !== COMMA) return undefined;
    i = spaceEnd(text, i + 1);
  }
  if (spaceEnd(text, i + 1) !== text.length || deviceId === undefined || eventToken === undefined) return undefined;
  // The schema's order: Temperature, then Humidity, whatever order they came in.
  const readings: Record<string, number> = {};
  if (temperature !== undefined) readings['Temperature'] = temperature;
  if (humidity !== undefined) readings['Humidity'] = humidity;
  return { deviceId, eventToken, enqueuedTime, readings };
}

/**
 * After JSON's white space (space, tab, line feed, carriage return) from `i`. It stops at the
 * text's end rather than read past it: a read past the end made V8 take back the function's
 * optimised code, and the scanner ran 10 to 15 % slower after.
 */
function spaceEnd(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
  }
  return i;
}

/**
 * The name between `start` and `end` (the first quote after it) when it is one of the four,
 * spelt exactly so; otherwise undefined. A name with an escape in it is none of the four: the text
 * up to the first quote then ends in a backslash.
 */
function knownName(text: string, start: number, end: number): string | undefined {
  switch (end - start) {
    case 8:
      return text.startsWith(DEVICE_ID, start) ? DEVICE_ID : text.startsWith(HUMIDITY, start) ? HUMIDITY : undefined;
    case 10:
      return text.startsWith(EVENT_TOKEN, start) ? EVENT_TOKEN : undefined;
    case 11:
      return text.startsWith(TEMPERATURE, start) ? TEMPERATURE : undefined;
    default:
      return undefined;
  }
}

/** Whether the string between `start` and `end` is a device id the hub accepts (1 to 128 of its characters; none needs an escape). */
function isDeviceId(text: string, start: number, end: number): boolean {
  if (end === start || end - start > 128) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || DEVICE_ID_CHARACTER[c] === 0) return false;
  }
  return true;
}

/** Whether the string between `start` and `end` is 1 to 128 characters with no escape (JSON allows no control character unescaped). */
function isPlainToken(text: string, start: number, end: number): boolean {
  if (end === start || end - start > MAX_TOKEN_LENGTH) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH || c < 0x20) return false;
  }
  return true;
}

/**
 * The string between the quotes at `open` and `close` (no escape in it), not keeping the text
 * alive. A slice of the text would do, but V8 makes a slice of 13 characters or more a view of
 * the whole text, and what the state holds of an event outlives it: a device's id for as long as
 * the device sends, a minute window's peak token for its minute. Slicing a string joined to one
 * space instead makes V8 first copy the joined string flat (it does before it slices any joined
 * string), so the view is of that copy, one character longer than the string: about 30 bytes more
 * a string than `JSON.parse`'s strings of their own (`bench:scale`'s rule state, 88 → 120 bytes a
 * device), where the view of the text costs the text. `JSON.parse` of the quoted string, which
 * makes one of its own, cost about 290 ns a string here, against about 50.
 */
function stringOfItsOwn(text: string, open: number, close: number): string {
  return (' ' + text.slice(open + 1, close)).slice(1);
}

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

/**
 * The JSON number at `i` without an exponent and of at most 15 digits, as the double nearest it
 * (see above), its end in `numberEnd`; NaN for anything else.
 */
function numberAt(text: string, i: number): number {
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  let c = text.charCodeAt(i);
  if (!isDigit(c)) return NaN;
  let digits = 0;
  let mantissa = 0;
  if (c === ZERO) {
    // JSON allows no leading zero: a digit after it ("01") ends the number where no comma or brace is, and the object is refused.
    digits = 1;
    i++;
  } else {
    for (; isDigit(c); c = text.charCodeAt(++i)) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
    }
  }
  let decimals = 0;
  if (text.charCodeAt(i) === POINT) {
    c = text.charCodeAt(++i);
    if (!isDigit(c)) return NaN;
    for (; isDigit(c); c = text.charCodeAt(++i)) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      decimals++;
    }
  }
  c = text.charCodeAt(i);
  if (c === 0x65 || c === 0x45 || digits > 15) return NaN;
  numberEnd = i;
  const value = mantissa / POWERS_OF_TEN[decimals]!;
  return negative ? -value : value;
}
