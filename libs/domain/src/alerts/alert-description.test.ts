import { describe, expect, it } from 'vitest';
import { describeThresholdAlert } from './alert-description.js';
import { ALERT_DESCRIPTION_MAX } from './alert-values.js';

describe('describeThresholdAlert', () => {
  it('says what CFS says', () => {
    expect(describeThresholdAlert('Temperature', 86, 70)).toBe('Temperature reading of 86 exceeded a threshold of 70');
  });

  it('never exceeds the 100 characters of msdyn_description, and shows that it cut', () => {
    const text = describeThresholdAlert('X'.repeat(120), 1, 0);
    expect(text).toHaveLength(ALERT_DESCRIPTION_MAX);
    expect(text.endsWith('…')).toBe(true);
  });
});
