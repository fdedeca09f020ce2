import { describe, expect, it } from 'vitest';
import { eqString, odataGuid, odataString, toDataverseDateTime } from './odata-literal.js';

describe('OData literals', () => {
  it('doubles every quote inside a string literal', () => {
    expect(odataString("o'brien")).toBe("'o''brien'");
    expect(eqString('msdyn_deviceid', "x' or msdyn_deviceid ne '")).toBe("msdyn_deviceid eq 'x'' or msdyn_deviceid ne '''");
  });

  it('refuses a GUID that is not one, so no key can carry syntax', () => {
    expect(odataGuid('C0FFEE00-1234-4ABC-8DEF-0123456789AB')).toBe('c0ffee00-1234-4abc-8def-0123456789ab');
    expect(() => odataGuid('1) or (1 eq 1')).toThrow(/Not a GUID/);
  });

  it('writes date-times in whole seconds, as Dataverse keeps them', () => {
    expect(toDataverseDateTime(Date.parse('2026-11-28T09:15:02.913Z'))).toBe('2026-11-28T09:15:02Z');
  });
});
