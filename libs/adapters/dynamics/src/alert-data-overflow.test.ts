import { describe, expect, it } from 'vitest';
import { cutAlertData, fitAlertData } from './alert-data-overflow.js';

describe('alert data and the 8,192 characters of msdyn_alertdata', () => {
  it('keeps alert data that fits exactly as it is', () => {
    const data = JSON.stringify({ deviceid: "o'brien", note: '🔥'.repeat(100) });
    expect(fitAlertData(data)).toEqual({ column: data });
    expect(cutAlertData(data)).toBeUndefined();
  });

  it('cuts longer data to the column, says so in it, and keeps the whole text for the note', () => {
    const data = 'x'.repeat(10_000);
    const fitted = fitAlertData(data);
    expect(fitted.column.length).toBeLessThanOrEqual(8_192);
    expect(fitted.column).toMatch(/alert data cut at \d+ of 10000 characters/);
    expect(fitted.overflow).toBe(data);
    expect(cutAlertData(fitted.column)).toEqual({ total: 10_000 });
  });
});
