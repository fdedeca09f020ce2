import { describe, expect, it } from 'vitest';
import { ODataSyntaxError, parseFilter, parseRecordKey } from './odata-filter.js';

describe('parseFilter', () => {
  it("reads '' inside a string literal as one quote, so the literal never ends early", () => {
    expect(parseFilter("msdyn_deviceid eq 'x'' or msdyn_deviceid ne '''")).toEqual({
      kind: 'compare',
      op: 'eq',
      property: 'msdyn_deviceid',
      literal: { kind: 'string', value: "x' or msdyn_deviceid ne '" },
    });
  });

  it('parses and / or / not with precedence, GUIDs, date-times and functions', () => {
    const tree = parseFilter(
      "not startswith(msdyn_name,'a') or _msdyn_device_value eq C0FFEE00-1234-4abc-8def-0123456789ab and msdyn_alerttime ge 2026-11-28T09:15:00Z",
    );
    expect(tree).toEqual({
      kind: 'or',
      left: { kind: 'not', operand: { kind: 'function', fn: 'startswith', property: 'msdyn_name', literal: { kind: 'string', value: 'a' } } },
      right: {
        kind: 'and',
        left: { kind: 'compare', op: 'eq', property: '_msdyn_device_value', literal: { kind: 'guid', value: 'c0ffee00-1234-4abc-8def-0123456789ab' } },
        right: { kind: 'compare', op: 'ge', property: 'msdyn_alerttime', literal: { kind: 'datetime', value: Date.parse('2026-11-28T09:15:00Z') } },
      },
    });
  });

  it('names what is wrong and where', () => {
    expect(() => parseFilter("msdyn_name eq 'open")).toThrow(new ODataSyntaxError('unterminated string literal starting at position 14', 14));
    expect(() => parseFilter('msdyn_name equals 1')).toThrow(/expected a comparison .* at position 11/);
    expect(() => parseFilter("(msdyn_name eq 'a'")).toThrow(/expected '\)'/);
  });
});

describe('parseRecordKey', () => {
  it('reads a GUID key and an alternate key with an escaped quote', () => {
    expect(parseRecordKey('c0ffee00-1234-4abc-8def-0123456789ab')).toEqual({ kind: 'id', id: 'c0ffee00-1234-4abc-8def-0123456789ab' });
    expect(parseRecordKey("msdyn_deviceid='o''brien,1'")).toEqual({
      kind: 'alternate',
      values: new Map([['msdyn_deviceid', { kind: 'string', value: "o'brien,1" }]]),
    });
  });
});
