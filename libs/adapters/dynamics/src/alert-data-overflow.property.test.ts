import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitAlertData } from './alert-data-overflow.js';

describe('alert data and the 8,192 characters of msdyn_alertdata', () => {
  it('property: the column never exceeds the limit, and its kept part is a prefix of the data', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 400 }), fc.integer({ min: 150, max: 300 }), (data, max) => {
        const fitted = fitAlertData(data, max);
        expect(fitted.column.length).toBeLessThanOrEqual(max);
        if (fitted.overflow === undefined) expect(fitted.column).toBe(data);
        else expect(data.startsWith(fitted.column.slice(0, fitted.column.indexOf('…[alert data cut')))).toBe(true);
      }),
    );
  });
});
