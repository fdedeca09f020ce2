import { describe, expect, it } from 'vitest';
import { alignCommaJoined, parseCommaJoinedObjects, splitCommaList, splitTopLevelCommas } from './comma-joined.js';

describe('splitTopLevelCommas', () => {
  it('splits only on commas outside JSON strings, objects and arrays', () => {
    expect(splitTopLevelCommas('{"a":"x,y"},{"b":[1,2]},{"c":{"d":"}\\",{"}}')).toEqual(['{"a":"x,y"}', '{"b":[1,2]}', '{"c":{"d":"}\\",{"}}']);
  });
  it('keeps empty parts, so their position still counts', () => {
    expect(splitTopLevelCommas('{},,{}')).toEqual(['{}', '', '{}']);
  });
});

describe('parseCommaJoinedObjects', () => {
  it('reads one object per part, and undefined for an empty part or null', () => {
    expect(parseCommaJoinedObjects('{"site":"lobby, east"}, ,null,{"n":[1,2]}', ['Tags'])).toEqual({
      ok: true,
      value: [{ site: 'lobby, east' }, undefined, undefined, { n: [1, 2] }],
    });
  });
  it('names the part that is not a JSON object', () => {
    const result = parseCommaJoinedObjects('{"a":1},[1],{"b":', ['InputParameters', 'IoTDeviceTags']);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.map((i) => i.path)).toEqual(['InputParameters.IoTDeviceTags.1', 'InputParameters.IoTDeviceTags.2']);
  });
  it('reads empty text as no objects', () => {
    expect(parseCommaJoinedObjects('  ', ['x'])).toEqual({ ok: true, value: [] });
  });
});

describe('splitCommaList', () => {
  it('trims each value and gives nothing for empty text', () => {
    expect(splitCommaList('a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(splitCommaList('')).toEqual([]);
  });
});

describe('alignCommaJoined', () => {
  it('locates values from the start and from the end, leaving unknown the one that does not fit', () => {
    expect(alignCommaJoined('hall-1,hall,2,hall-3', ['hall-1', 'hall,2', 'hall-3'])).toEqual(['hall-1', 'hall,2', 'hall-3']);
    expect(alignCommaJoined('hall-1,hall,2,hall-3', ['hall-1', 'hall,2b', 'hall-3'])).toEqual(['hall-1', undefined, 'hall-3']);
    expect(alignCommaJoined('a,b,c', [undefined, 'b', 'c'])).toEqual([undefined, 'b', 'c']);
    expect(alignCommaJoined('a,b', ['x', 'y'])).toEqual([undefined, undefined]);
  });
});
